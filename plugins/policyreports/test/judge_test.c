// Unit tests of the policyreports judgement (judge.c), built natively by
// scripts/test with the system's cc under AddressSanitizer and UBSan, from
// judge.c, this file and sdk/c/cjson/cJSON.c (include path sdk/c).
#include <stdio.h>
#include <string.h>

#include "../judge.h"

static int passed, failed;

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (cond) {                                                             \
            passed++;                                                           \
        } else {                                                                \
            failed++;                                                           \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
        }                                                                       \
    } while (0)

static const tally_t *find(const tallies_t *t, const char *key) {
    for (size_t i = 0; i < t->len; i++)
        if (!strcmp(t->items[i].key, key)) return &t->items[i];
    return NULL;
}

// A namespaced report with two failures of one policy (three results, so only
// the first two become examples), a pass, a warn, an error and a skip.
static const char *APPS =
    "{\"metadata\": {\"namespace\": \"apps\"}, \"results\": ["
    "{\"policy\": \"require-limits\", \"rule\": \"validate\", \"result\": \"fail\", \"message\": \"no limits\","
    " \"resources\": [{\"kind\": \"Deployment\", \"name\": \"web\"}]},"
    "{\"policy\": \"require-limits\", \"rule\": \"validate\", \"result\": \"fail\", \"message\": \"no limits\","
    " \"resources\": [{\"kind\": \"Deployment\", \"name\": \"api\"}]},"
    "{\"policy\": \"require-limits\", \"rule\": \"validate\", \"result\": \"fail\", \"message\": \"no limits\","
    " \"resources\": [{\"kind\": \"Deployment\", \"name\": \"worker\"}]},"
    "{\"policy\": \"require-labels\", \"rule\": \"check\", \"result\": \"pass\"},"
    "{\"policy\": \"audit-only\", \"rule\": \"check\", \"result\": \"warn\", \"message\": \"audit\","
    " \"resources\": [{\"kind\": \"Pod\", \"name\": \"p\"}]},"
    "{\"policy\": \"seccomp\", \"rule\": \"check\", \"result\": \"error\", \"message\": \"variable not found\","
    " \"resources\": [{\"kind\": \"Pod\", \"name\": \"q\"}]},"
    "{\"policy\": \"host-path\", \"rule\": \"check\", \"result\": \"skip\"}"
    "]}";

// Kyverno 1.10+: a cluster report per resource, the resource in `scope`, no
// `resources` in the results.
static const char *CLUSTER =
    "{\"metadata\": {\"name\": \"x\"}, \"scope\": {\"kind\": \"Namespace\", \"name\": \"legacy\"},"
    " \"results\": [{\"policy\": \"ns-labels\", \"rule\": \"team\", \"result\": \"fail\","
    " \"message\": \"label team required\"}]}";

static void counts_failures_errors_and_examples(void) {
    cJSON *apps = cJSON_Parse(APPS), *cluster = cJSON_Parse(CLUSTER), *allow = cJSON_Parse("[]");
    tallies_t t = {0};
    pr_count(&t, apps, allow, false);
    pr_count(&t, cluster, allow, false);
    CHECK(t.len == 3);
    const tally_t *limits = find(&t, "apps/require-limits");
    CHECK(limits && limits->fail == 3 && limits->error == 0);
    CHECK(limits && !strcmp(limits->examples,
                            "validate Deployment/web: no limits; validate Deployment/api: no limits"));
    const tally_t *seccomp = find(&t, "apps/seccomp");
    CHECK(seccomp && seccomp->fail == 0 && seccomp->error == 1);
    const tally_t *ns = find(&t, "(cluster)/ns-labels");
    CHECK(ns && ns->fail == 1 && !strcmp(ns->examples, "team Namespace/legacy: label team required"));
    CHECK(find(&t, "apps/audit-only") == NULL);  // warn is not a failure by default
    pr_sort(&t);
    CHECK(!strcmp(t.items[0].key, "apps/require-limits"));
    CHECK(!strcmp(t.items[2].key, "apps/seccomp"));
    pr_free(&t);
    cJSON_Delete(apps);
    cJSON_Delete(cluster);
    cJSON_Delete(allow);
}

static void warn_counts_when_asked_and_allow_skips(void) {
    cJSON *apps = cJSON_Parse(APPS);
    cJSON *allow = cJSON_Parse("[\"seccomp\", \"apps/require-limits\", \"other/audit-only\"]");
    tallies_t t = {0};
    pr_count(&t, apps, allow, true);
    CHECK(t.len == 1);
    const tally_t *audit = find(&t, "apps/audit-only");
    CHECK(audit && audit->fail == 1);
    pr_free(&t);
    cJSON_Delete(apps);
    cJSON_Delete(allow);
}

static void statuses_follow_the_thresholds(void) {
    tally_t e = {.fail = 3};
    CHECK(pr_status(&e, 1, 0) == 1);
    CHECK(pr_status(&e, 1, 3) == 2);
    CHECK(pr_status(&e, 4, 0) == 0);
    CHECK(pr_status(&e, 0, 0) == 0);  // both off
    tally_t err = {.error = 1};
    CHECK(pr_status(&err, 0, 1) == 1);  // an error always warns
}

static void malformed_reports_count_nothing(void) {
    const char *bad[] = {"{}", "{\"results\": 3}", "{\"results\": [1, null, {\"result\": 7}]}", "[]"};
    tallies_t t = {0};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON *r = cJSON_Parse(bad[i]);
        pr_count(&t, r, NULL, true);
        cJSON_Delete(r);
    }
    CHECK(t.len == 0);
    pr_sort(&t);
    pr_free(&t);
}

int main(void) {
    counts_failures_errors_and_examples();
    warn_counts_when_asked_and_allow_skips();
    statuses_follow_the_thresholds();
    malformed_reports_count_nothing();
    printf("policyreports judge: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
