// vitals SDK for check plugins written in C.
//
// Builds on the bindings that `wit-bindgen c wit --world check` generates
// (check.h) and on cJSON (cjson/cJSON.h). It gives:
//   - a report builder: findings and samples collected, the status the worst
//     finding's, every string copied (the generated code frees what `run` returns);
//   - the check's [params] as a cJSON object;
//   - Kubernetes LIST of every page into one cJSON array, and error texts;
//   - RFC 3339 times as Unix seconds, and `vitals_now()` from the wall clock.
#ifndef VITALS_SDK_H
#define VITALS_SDK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "check.h"
#include "cjson/cJSON.h"

typedef vitals_check_types_status_t vitals_status_t;
#define VITALS_OK VITALS_CHECK_TYPES_STATUS_OK
#define VITALS_WARNING VITALS_CHECK_TYPES_STATUS_WARNING
#define VITALS_CRITICAL VITALS_CHECK_TYPES_STATUS_CRITICAL
#define VITALS_UNKNOWN VITALS_CHECK_TYPES_STATUS_UNKNOWN

// The more severe of two statuses (ok < warning < critical < unknown).
vitals_status_t vitals_worse(vitals_status_t a, vitals_status_t b);

// A report being built into `out` (the struct `run` returns).
typedef struct {
    exports_vitals_check_plugin_report_t *out;
    size_t findings_cap, samples_cap;
} vitals_report_t;

void vitals_report_init(vitals_report_t *r, exports_vitals_check_plugin_report_t *out);
// Add a finding (printf-style message); the status becomes at least `status`.
void vitals_finding(vitals_report_t *r, const char *subject, vitals_status_t status,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
// Add a finding that does not raise the overall status by itself: a member that
// could not be observed (unknown) while the others speak for the cluster.
void vitals_note(vitals_report_t *r, const char *subject, vitals_status_t status,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
// Add a sample with up to two labels (NULL names are skipped).
void vitals_sample(vitals_report_t *r, const char *name, const char *help, double value,
                   const char *label1, const char *value1, const char *label2,
                   const char *value2);
// Set the summary (printf-style). `status` raises the overall status.
void vitals_summary(vitals_report_t *r, vitals_status_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// Fill a param-spec (all strings copied); `default_json` NULL means required.
void vitals_param(vitals_check_types_param_spec_t *p, const char *name, const char *kind,
                  const char *description, const char *default_json);

// A copy of a WIT string as a C string (malloc'd, NUL-terminated).
char *vitals_cstr(const check_string_t *s);

// The check's [params] as a cJSON object (an empty object if none); NULL with
// `error` set if they are not a JSON object.
cJSON *vitals_params(const exports_vitals_check_plugin_run_input_t *input, char *error,
                     size_t error_len);
// A string, number or boolean parameter, or the default.
const char *vitals_param_string(const cJSON *params, const char *name, const char *dflt);
double vitals_param_number(const cJSON *params, const char *name, double dflt);

// LIST `path` on the kubernetes endpoint, every page (500 a page): a cJSON array
// of the items (the caller deletes it), or NULL with `error` set to a line like
// `HTTP 403 Forbidden: ...` or `denied: ...`; `*code` is the HTTP status of an
// API error, else 0.
cJSON *vitals_k8s_list(const char *endpoint, const char *path, const char *label_selector,
                       char *error, size_t error_len, int *code);

// The string at `key` of a JSON object, or "" (never NULL).
const char *vitals_json_str(const cJSON *obj, const char *key);
// The Unix time of an RFC 3339 timestamp (`2026-11-02T09:00:00Z`), or -1.
double vitals_parse_time(const char *rfc3339);
// Seconds since the Unix epoch, from the wall clock.
double vitals_now(void);

#endif
