// policyreports: what the policy engine found, from the wgpolicyk8s.io PolicyReports
// and ClusterPolicyReports that Kyverno (and other engines) write.
//
// A vitals check plugin in C, built with Debian's clang and wasi-libc, wit-bindgen
// and wasm-tools (scripts/build-plugins). Lists the reports over the kubernetes
// capability (grant `kubernetes = ["wgpolicyk8s.io/policyreports",
// "wgpolicyk8s.io/clusterpolicyreports"]`), counts the results per namespace and
// policy, and judges each pair:
//   critical  at least `critical_at` failures (0: never)
//   warning   at least `warning_at` failures; an `error` result (the engine could
//             not evaluate the policy)
// Policies in `allow` ("policy" or "namespace/policy") are not judged.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitals.h"

void exports_vitals_check_plugin_describe(exports_vitals_check_plugin_plugin_info_t *ret) {
    check_string_dup(&ret->name, "policyreports");
    check_string_dup(&ret->version, "0.1.0");
    check_string_dup(&ret->description,
                     "Kyverno / wgpolicyk8s.io PolicyReports: fail and error results per "
                     "namespace and policy, with an allow-list and thresholds");
    size_t n = 7;
    ret->params.ptr = calloc(n, sizeof *ret->params.ptr);
    ret->params.len = n;
    vitals_param(&ret->params.ptr[0], "endpoint", "string", "the kubernetes endpoint",
                 "\"kubernetes\"");
    vitals_param(&ret->params.ptr[1], "namespaces", "list<string>",
                 "namespaces whose PolicyReports to read (default: all)", "[]");
    vitals_param(&ret->params.ptr[2], "allow", "list<string>",
                 "policies not judged: \"policy\" everywhere, or \"namespace/policy\"", "[]");
    vitals_param(&ret->params.ptr[3], "warning_at", "integer",
                 "failures of one policy in one namespace that warn (0: never)", "1");
    vitals_param(&ret->params.ptr[4], "critical_at", "integer",
                 "failures of one policy in one namespace that are critical (0: never)", "0");
    vitals_param(&ret->params.ptr[5], "count_warn", "boolean",
                 "count `warn` results (audit-mode policies) as failures", "false");
    vitals_param(&ret->params.ptr[6], "cluster_reports", "boolean",
                 "also read ClusterPolicyReports (cluster-scoped resources)", "true");
}

// One (namespace, policy) pair's counts and its first failures, as text.
typedef struct {
    char key[320];
    int fail, error;
    char examples[512];
} tally_t;

typedef struct {
    tally_t *items;
    size_t len, cap;
} tallies_t;

static tally_t *tally(tallies_t *t, const char *key) {
    for (size_t i = 0; i < t->len; i++)
        if (!strcmp(t->items[i].key, key)) return &t->items[i];
    if (t->len == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->items = realloc(t->items, t->cap * sizeof *t->items);
        if (!t->items) abort();
    }
    tally_t *n = &t->items[t->len++];
    memset(n, 0, sizeof *n);
    snprintf(n->key, sizeof n->key, "%s", key);
    return n;
}

static bool allowed(const cJSON *allow, const char *ns, const char *policy) {
    char both[320];
    snprintf(both, sizeof both, "%s/%s", ns, policy);
    const cJSON *a;
    cJSON_ArrayForEach(a, allow) {
        if (cJSON_IsString(a) && (!strcmp(a->valuestring, policy) || !strcmp(a->valuestring, both)))
            return true;
    }
    return false;
}

// Count one report's results into `t`.
static void count(tallies_t *t, const cJSON *report, const cJSON *allow, bool count_warn) {
    const char *ns = vitals_json_str(cJSON_GetObjectItemCaseSensitive(report, "metadata"), "namespace");
    if (!*ns) ns = "(cluster)";
    const cJSON *res;
    cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(report, "results")) {
        const char *result = vitals_json_str(res, "result");
        bool fail = !strcmp(result, "fail") || (count_warn && !strcmp(result, "warn"));
        bool error = !strcmp(result, "error");
        const char *policy = vitals_json_str(res, "policy");
        if ((!fail && !error) || allowed(allow, ns, policy)) continue;
        char key[320];
        snprintf(key, sizeof key, "%s/%s", ns, policy);
        tally_t *e = tally(t, key);
        if (fail) e->fail++;
        else e->error++;
        // The first two: rule, resource, message.
        if (e->fail + e->error > 2) continue;
        const cJSON *resource = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(res, "resources"), 0);
        if (!resource) {  // Kyverno 1.10+: one report per resource, named in `scope`
            resource = cJSON_GetObjectItemCaseSensitive(report, "scope");
        }
        size_t len = strlen(e->examples);
        snprintf(e->examples + len, sizeof e->examples - len, "%s%s %s/%s: %s",
                 len ? "; " : "", vitals_json_str(res, "rule"), vitals_json_str(resource, "kind"),
                 vitals_json_str(resource, "name"), vitals_json_str(res, "message"));
    }
}

static int by_worst(const void *a, const void *b) {
    const tally_t *x = a, *y = b;
    if (x->fail != y->fail) return y->fail - x->fail;
    return strcmp(x->key, y->key);
}

void exports_vitals_check_plugin_run(exports_vitals_check_plugin_run_input_t *input,
                                     exports_vitals_check_plugin_report_t *ret) {
    vitals_report_t r;
    vitals_report_init(&r, ret);
    vitals_error_t err;
    cJSON *params = NULL, *reports = NULL, *cluster = NULL;
    tallies_t t = {0};
    vitals_endpoint_t ep = {0};
    if (!vitals_parse_params(input, &params, &err)) {
        vitals_finish(&r, VITALS_UNKNOWN, "%s", err.message);
        goto out;
    }
    if (!vitals_granted_endpoint(input, vitals_param_string(params, "endpoint", "kubernetes"),
                                 "kubernetes", &ep, &err)) {
        vitals_finish(&r, VITALS_UNKNOWN, "%s", err.message);
        goto out;
    }
    const cJSON *namespaces = cJSON_GetObjectItemCaseSensitive(params, "namespaces");
    const cJSON *allow = cJSON_GetObjectItemCaseSensitive(params, "allow");
    int warning_at = (int)vitals_param_number(params, "warning_at", 1);
    int critical_at = (int)vitals_param_number(params, "critical_at", 0);
    bool count_warn = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(params, "count_warn"));
    const cJSON *cr = cJSON_GetObjectItemCaseSensitive(params, "cluster_reports");
    bool cluster_reports = !cJSON_IsFalse(cr);

    const char *api = "/apis/wgpolicyk8s.io/v1alpha2";
    if (!vitals_k8s_list_in(ep.name, api, "policyreports", namespaces, "", &reports, &err)) {
        vitals_finish(&r, VITALS_UNKNOWN, "cannot list PolicyReports: %s%s%s",
                      vitals_err_name(err.kind), err.kind ? ": " : "", err.message);
        goto out;
    }
    const cJSON *report;
    cJSON_ArrayForEach(report, reports) count(&t, report, allow, count_warn);
    int report_count = cJSON_GetArraySize(reports);
    if (cluster_reports) {
        if (vitals_k8s_list_in(ep.name, api, "clusterpolicyreports", NULL, "", &cluster, &err)) {
            cJSON_ArrayForEach(report, cluster) count(&t, report, allow, count_warn);
            report_count += cJSON_GetArraySize(cluster);
        } else {
            vitals_finding(&r, "clusterpolicyreports", VITALS_WARNING,
                           "cannot list ClusterPolicyReports: %s: %s", vitals_err_name(err.kind),
                           err.message);
        }
    }

    qsort(t.items, t.len, sizeof *t.items, by_worst);
    int failures = 0, errors = 0;
    const char *worst = NULL;
    vitals_status_t worst_status = VITALS_OK;
    for (size_t i = 0; i < t.len; i++) {
        tally_t *e = &t.items[i];
        failures += e->fail;
        errors += e->error;
        char *slash = strrchr(e->key, '/');
        *slash = '\0';
        vitals_sample(&r, "failures", "Failed results per namespace and policy", e->fail,
                      "namespace", e->key, "policy", slash + 1);
        *slash = '/';
        vitals_status_t s = VITALS_OK;
        if (critical_at > 0 && e->fail >= critical_at) s = VITALS_CRITICAL;
        else if ((warning_at > 0 && e->fail >= warning_at) || e->error > 0) s = VITALS_WARNING;
        if (e->error) {
            vitals_finding(&r, e->key, s, "%d failed, %d could not be evaluated: %s", e->fail,
                           e->error, e->examples);
        } else {
            vitals_finding(&r, e->key, s, "%d failed: %s", e->fail, e->examples);
        }
        if (s > worst_status) {
            worst_status = s;
            worst = e->key;
        }
    }
    vitals_sample(&r, "reports", "PolicyReports read", report_count, NULL, NULL, NULL, NULL);
    vitals_sample(&r, "results_failed", "Failed results not allowed", failures, NULL, NULL, NULL,
                  NULL);
    vitals_sample(&r, "results_error", "Results the engine could not evaluate", errors, NULL,
                  NULL, NULL, NULL);
    if (worst) {
        vitals_finish(&r, VITALS_OK, "%d failed results in %zu namespace/policy pairs (%d reports); worst: %s",
                      failures, t.len, report_count, worst);
    } else {
        vitals_finish(&r, VITALS_OK, "%d failed results (%d reports)", failures, report_count);
    }
out:
    free(t.items);
    vitals_endpoint_free(&ep);
    cJSON_Delete(reports);
    cJSON_Delete(cluster);
    cJSON_Delete(params);
    exports_vitals_check_plugin_run_input_free(input);
}
