// workloads: Pods that do not run and PersistentVolumeClaims that do not bind.
//
// A vitals check plugin in C, built with Debian's clang and wasi-libc, wit-bindgen
// and wasm-tools (scripts/build-plugins). Reads Pods and PersistentVolumeClaims over
// the kubernetes capability (grant `kubernetes = ["pods", "persistentvolumeclaims"]`)
// in every namespace, or in the `namespaces` given, and judges:
//   critical  a container waiting in CrashLoopBackOff, ImagePullBackOff, ErrImagePull,
//             CreateContainerConfigError, CreateContainerError or InvalidImageName;
//             a Pod Failed or Unknown; a Pod Pending for longer than
//             `pending_grace_seconds` (with the scheduler's reason);
//             a PersistentVolumeClaim Lost, or Pending longer than the grace
//   ok        Running and Succeeded Pods, Bound claims; younger Pending ones
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitals.h"

static const char *STUCK[] = {"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull",
                              "CreateContainerConfigError", "CreateContainerError",
                              "InvalidImageName", NULL};

void exports_vitals_check_plugin_describe(exports_vitals_check_plugin_plugin_info_t *ret) {
    check_string_dup(&ret->name, "workloads");
    check_string_dup(&ret->version, "0.1.0");
    check_string_dup(&ret->description,
                     "Pods not Running or Succeeded (CrashLoopBackOff, ImagePullBackOff, Pending) "
                     "and PersistentVolumeClaims Pending or Lost");
    size_t n = 4;
    ret->params.ptr = calloc(n, sizeof *ret->params.ptr);
    ret->params.len = n;
    vitals_param(&ret->params.ptr[0], "endpoint", "string", "the kubernetes endpoint",
                 "\"kubernetes\"");
    vitals_param(&ret->params.ptr[1], "namespaces", "list<string>",
                 "namespaces to check (default: all)", "[]");
    vitals_param(&ret->params.ptr[2], "pending_grace_seconds", "integer",
                 "how long a Pod or claim may be Pending before it is critical", "300");
    vitals_param(&ret->params.ptr[3], "label_selector", "string",
                 "only Pods and claims matching this label selector", "\"\"");
}

// "5m", "2h", "3d" for a number of seconds.
static void age(double seconds, char *buf, size_t len) {
    if (seconds >= 2 * 86400) snprintf(buf, len, "%.0fd", seconds / 86400 - 0.5);
    else if (seconds >= 3600) snprintf(buf, len, "%.0fh", seconds / 3600 - 0.5);
    else snprintf(buf, len, "%.0fm", seconds / 60 - 0.5);
}

// The condition of `type` in obj.status.conditions, or NULL.
static const cJSON *condition(const cJSON *obj, const char *type) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(
                              cJSON_GetObjectItemCaseSensitive(obj, "status"), "conditions")) {
        if (!strcmp(vitals_json_str(c, "type"), type)) return c;
    }
    return NULL;
}

// A container (or init container) stuck waiting: writes why into `why`.
static bool stuck_container(const cJSON *status, char *why, size_t len) {
    const char *lists[] = {"initContainerStatuses", "containerStatuses"};
    for (int i = 0; i < 2; i++) {
        const cJSON *cs;
        cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(status, lists[i])) {
            const cJSON *waiting = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cs, "state"), "waiting");
            const char *reason = vitals_json_str(waiting, "reason");
            for (const char **s = STUCK; *s; s++) {
                if (strcmp(reason, *s)) continue;
                const cJSON *restarts = cJSON_GetObjectItemCaseSensitive(cs, "restartCount");
                const cJSON *last = cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(cs, "lastState"), "terminated");
                int n = snprintf(why, len, "container %s %s", vitals_json_str(cs, "name"), reason);
                if (cJSON_IsNumber(restarts) && restarts->valueint > 0 && n > 0 && (size_t)n < len)
                    n += snprintf(why + n, len - n, " (%d restarts)", restarts->valueint);
                if (last && n > 0 && (size_t)n < len) {
                    const cJSON *code = cJSON_GetObjectItemCaseSensitive(last, "exitCode");
                    n += snprintf(why + n, len - n, ", last exit %s code %d",
                                  vitals_json_str(last, "reason"),
                                  cJSON_IsNumber(code) ? code->valueint : -1);
                }
                const char *message = vitals_json_str(waiting, "message");
                if (*message && n > 0 && (size_t)n < len) snprintf(why + n, len - n, ": %s", message);
                return true;
            }
        }
    }
    return false;
}

typedef struct {
    int total, running, succeeded, pending_young, problems;
} pod_counts;

static void judge_pod(vitals_report_t *r, const cJSON *pod, double grace, double now,
                      pod_counts *c) {
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(pod, "status");
    const char *phase = vitals_json_str(status, "phase");
    char subject[512], why[1024], since[32];
    snprintf(subject, sizeof subject, "pod %s/%s", vitals_json_str(meta, "namespace"),
             vitals_json_str(meta, "name"));
    c->total++;
    if (!strcmp(phase, "Succeeded")) {
        c->succeeded++;
        return;
    }
    if (stuck_container(status, why, sizeof why)) {
        c->problems++;
        vitals_finding(r, subject, VITALS_CRITICAL, "%s %s", phase, why);
        return;
    }
    if (!strcmp(phase, "Running")) {
        c->running++;
        return;
    }
    if (!strcmp(phase, "Pending")) {
        double created = vitals_parse_time(vitals_json_str(meta, "creationTimestamp"));
        double pending = created < 0 ? 0 : now - created;
        if (pending < grace) {
            c->pending_young++;
            return;
        }
        c->problems++;
        age(pending, since, sizeof since);
        const cJSON *scheduled = condition(pod, "PodScheduled");
        if (scheduled && strcmp(vitals_json_str(scheduled, "status"), "True")) {
            vitals_finding(r, subject, VITALS_CRITICAL, "Pending for %s, not scheduled: %s: %s",
                           since, vitals_json_str(scheduled, "reason"),
                           vitals_json_str(scheduled, "message"));
        } else {
            vitals_finding(r, subject, VITALS_CRITICAL, "Pending for %s", since);
        }
        return;
    }
    // Failed, Unknown (the node stopped reporting), or no phase at all.
    c->problems++;
    const char *reason = vitals_json_str(status, "reason");
    const char *message = vitals_json_str(status, "message");
    vitals_finding(r, subject, VITALS_CRITICAL, "%s%s%s%s%s", *phase ? phase : "no phase",
                   *reason ? ": " : "", reason, *message ? ": " : "", message);
}

static int judge_claim(vitals_report_t *r, const cJSON *pvc, double grace, double now) {
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(pvc, "metadata");
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pvc, "spec");
    const char *phase = vitals_json_str(cJSON_GetObjectItemCaseSensitive(pvc, "status"), "phase");
    char subject[512], since[32];
    snprintf(subject, sizeof subject, "pvc %s/%s", vitals_json_str(meta, "namespace"),
             vitals_json_str(meta, "name"));
    if (!strcmp(phase, "Lost")) {
        vitals_finding(r, subject, VITALS_CRITICAL,
                       "Lost: its PersistentVolume %s is gone; the data is not reachable",
                       vitals_json_str(spec, "volumeName"));
        return 1;
    }
    if (!strcmp(phase, "Pending")) {
        double created = vitals_parse_time(vitals_json_str(meta, "creationTimestamp"));
        double pending = created < 0 ? 0 : now - created;
        if (pending < grace) return 0;
        age(pending, since, sizeof since);
        const char *sc = vitals_json_str(spec, "storageClassName");
        vitals_finding(r, subject, VITALS_CRITICAL,
                       "Pending for %s: no volume bound (storage class %s)", since,
                       *sc ? sc : "(default)");
        return 1;
    }
    return 0;
}

// An error as one line: `HTTP 403 Forbidden: ...` for the API server's answers,
// `denied: ...` and the like for the others.
static void error_line(const vitals_error_t *err, char *line, size_t len) {
    if (err->kind == VITALS_ERR_API || err->kind == VITALS_ERR_INVALID) {
        snprintf(line, len, "%s", err->message);
    } else {
        snprintf(line, len, "%s: %s", vitals_err_name(err->kind), err->message);
    }
}

void exports_vitals_check_plugin_run(exports_vitals_check_plugin_run_input_t *input,
                                     exports_vitals_check_plugin_report_t *ret) {
    vitals_report_t r;
    vitals_report_init(&r, ret);
    vitals_error_t err;
    char error[1100];
    cJSON *pods = NULL, *claims = NULL, *params = NULL;
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
    const char *endpoint = ep.name;
    const char *selector = vitals_param_string(params, "label_selector", "");
    const cJSON *namespaces = cJSON_GetObjectItemCaseSensitive(params, "namespaces");
    double grace = vitals_param_number(params, "pending_grace_seconds", 300);
    double now = vitals_now();

    if (!vitals_k8s_list_in(endpoint, "/api/v1", "pods", namespaces, selector, &pods, &err)) {
        error_line(&err, error, sizeof error);
        vitals_finish(&r, VITALS_UNKNOWN, "cannot list Pods: %s", error);
        goto out;
    }
    pod_counts c = {0};
    const cJSON *pod;
    cJSON_ArrayForEach(pod, pods) judge_pod(&r, pod, grace, now, &c);

    int claim_count = 0, claim_problems = 0;
    char claims_note[1100] = "";
    if (vitals_k8s_list_in(endpoint, "/api/v1", "persistentvolumeclaims", namespaces, selector,
                           &claims, &err)) {
        const cJSON *pvc;
        cJSON_ArrayForEach(pvc, claims) {
            claim_count++;
            claim_problems += judge_claim(&r, pvc, grace, now);
        }
        snprintf(claims_note, sizeof claims_note, "; %d/%d PersistentVolumeClaims Bound",
                 claim_count - claim_problems, claim_count);
    } else {
        // Pods were readable and are judged: the claims not being so is a warning.
        error_line(&err, error, sizeof error);
        vitals_finding(&r, "persistentvolumeclaims", VITALS_WARNING,
                       "cannot list PersistentVolumeClaims: %s", error);
    }

    vitals_sample(&r, "pods", "Pods checked", c.total, NULL, NULL, NULL, NULL);
    vitals_sample(&r, "pods_problem", "Pods that do not run as they should", c.problems, NULL,
                  NULL, NULL, NULL);
    vitals_sample(&r, "pvcs", "PersistentVolumeClaims checked", claim_count, NULL, NULL, NULL, NULL);
    vitals_sample(&r, "pvcs_problem", "PersistentVolumeClaims Lost or Pending too long",
                  claim_problems, NULL, NULL, NULL, NULL);
    char starting[48] = "", failing[48] = "";
    if (c.pending_young) snprintf(starting, sizeof starting, ", %d starting", c.pending_young);
    if (c.problems) snprintf(failing, sizeof failing, ", %d not running", c.problems);
    vitals_finish(&r, VITALS_OK, "%d Pods: %d Running, %d Succeeded%s%s%s", c.total, c.running,
                   c.succeeded, starting, failing, claims_note);
out:
    vitals_endpoint_free(&ep);
    cJSON_Delete(pods);
    cJSON_Delete(claims);
    cJSON_Delete(params);
    exports_vitals_check_plugin_run_input_free(input);
}
