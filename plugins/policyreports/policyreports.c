// policyreports: what the policy engine found, from the wgpolicyk8s.io PolicyReports
// and ClusterPolicyReports that Kyverno (and other engines) write.
//
// A vitals check plugin in C, built with Debian's clang and wasi-libc, wit-bindgen
// and wasm-tools (scripts/build-plugins). Lists the reports over the kubernetes
// capability (grant `kubernetes = ["wgpolicyk8s.io/policyreports",
// "wgpolicyk8s.io/clusterpolicyreports"]`), counts the results per namespace and
// policy, and judges each pair:
// (the counting and judging are in judge.c, unit-tested natively by test/judge_test.c):
//   critical  at least `critical_at` failures (0: never)
//   warning   at least `warning_at` failures; an `error` result (the engine could
//             not evaluate the policy)
// Policies in `allow` ("policy" or "namespace/policy") are not judged.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge.h"
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
    cJSON_ArrayForEach(report, reports) pr_count(&t, report, allow, count_warn);
    int report_count = cJSON_GetArraySize(reports);
    if (cluster_reports) {
        if (vitals_k8s_list_in(ep.name, api, "clusterpolicyreports", NULL, "", &cluster, &err)) {
            cJSON_ArrayForEach(report, cluster) pr_count(&t, report, allow, count_warn);
            report_count += cJSON_GetArraySize(cluster);
        } else {
            vitals_finding(&r, "clusterpolicyreports", VITALS_WARNING,
                           "cannot list ClusterPolicyReports: %s: %s", vitals_err_name(err.kind),
                           err.message);
        }
    }

    pr_sort(&t);
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
        static const vitals_status_t by_level[] = {VITALS_OK, VITALS_WARNING, VITALS_CRITICAL};
        vitals_status_t s = by_level[pr_status(e, warning_at, critical_at)];
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
    pr_free(&t);
    vitals_endpoint_free(&ep);
    cJSON_Delete(reports);
    cJSON_Delete(cluster);
    cJSON_Delete(params);
    exports_vitals_check_plugin_run_input_free(input);
}
