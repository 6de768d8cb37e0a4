// The policyreports check's judgement, without I/O: counting the results of
// PolicyReports per (namespace, policy) and the status of each pair. Depends on
// cJSON only, so that test/judge_test.c runs it natively.
#ifndef POLICYREPORTS_JUDGE_H
#define POLICYREPORTS_JUDGE_H

#include <stdbool.h>

#include "cjson/cJSON.h"

// One (namespace, policy) pair's counts and its first two failures, as text.
typedef struct {
    char key[320];  // "namespace/policy", "(cluster)/policy" for cluster reports
    int fail, error;
    char examples[512];
} tally_t;

typedef struct {
    tally_t *items;
    size_t len, cap;
} tallies_t;

// Count one (Cluster)PolicyReport's results into `t`: `fail` (and `warn` when
// `count_warn`) as failures, `error` as not evaluated; policies in `allow`
// ("policy" or "namespace/policy") are skipped.
void pr_count(tallies_t *t, const cJSON *report, const cJSON *allow, bool count_warn);

// Order the pairs worst first (most failures, then by key).
void pr_sort(tallies_t *t);

// A pair's status: 2 (critical) at `critical_at` failures, 1 (warning) at
// `warning_at` failures or any error, else 0; a threshold of 0 is off.
int pr_status(const tally_t *e, int warning_at, int critical_at);

void pr_free(tallies_t *t);

#endif
