// vitals SDK for check plugins written in C.
//
// Builds on the bindings that `wit-bindgen c wit --world check` generates
// (check.h) and on cJSON (cjson/cJSON.h). The names follow the Rust SDK
// (plugins/sdk) with a `vitals_` prefix:
//
//   vitals_finding / _note / _sample / _raise / _finish        report
//   vitals_parse_params, vitals_granted_endpoint, vitals_log   run input, log
//   vitals_http_get, vitals_http_get_all, _http_call_free       HTTP GET (bodies as bytes)
//   vitals_redis_command, vitals_parse_info, _parse_fields      Redis (replies as cJSON)
//   vitals_sql_query, vitals_sql_records, _sql_name_values      SQL (rows as cJSON)
//   vitals_tcp_connect (seconds), vitals_arp_probe              net
//   vitals_tcp_connect_all, vitals_arp_probe_all (at once)      net
//   vitals_dns_query, vitals_dns_query_all                      DNS (answers as cJSON)
//   vitals_k8s_get, vitals_k8s_list_all, vitals_k8s_list_in     Kubernetes (cJSON)
//   vitals_k8s_batch, vitals_k8s_call_free                      Kubernetes reads at once
//
// Capability helpers return true on success, else false with `err` set: its
// `kind` (VITALS_ERR_DENIED, ...; vitals_err_name() gives the word), `code` (the
// HTTP status of a Kubernetes `api` error) and `message`. Strings passed in are
// NUL-terminated C strings; cJSON results belong to the caller (cJSON_Delete).
// Older names still work: vitals_summary (= vitals_finish), vitals_params
// (= vitals_parse_params with an error buffer), vitals_k8s_list.
#ifndef VITALS_SDK_H
#define VITALS_SDK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
// Raise the overall status to at least `status` without a finding.
void vitals_raise(vitals_report_t *r, vitals_status_t status);
// Finish: set the summary (printf-style, one line). `status` raises the overall
// status (VITALS_OK keeps the worst finding's; VITALS_UNKNOWN when nothing could
// be observed). Call it once, last: `run` then returns.
void vitals_finish(vitals_report_t *r, vitals_status_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
// The older name of vitals_finish.
void vitals_summary(vitals_report_t *r, vitals_status_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// ---------------------------------------------------------------- errors

// What went wrong: the WIT error cases of the capabilities, by name.
typedef enum {
    VITALS_ERR_NONE = 0,
    VITALS_ERR_DENIED,       // not granted / not allowed (every capability)
    VITALS_ERR_UNREACHABLE,  // no connection (every capability)
    VITALS_ERR_AUTH,         // login refused (redis, sql)
    VITALS_ERR_TIMEOUT,      // no answer in time (every capability)
    VITALS_ERR_TLS,          // TLS handshake or certificate (redis, sql, kubernetes, http)
    VITALS_ERR_SERVER,       // an error reply, or an unparsable one (redis, sql)
    VITALS_ERR_REFUSED,      // TCP connection refused (net)
    VITALS_ERR_FAILED,       // the probe could not be sent (net, dns); any other failure (http)
    VITALS_ERR_API,          // the API server's error status, in `code` (kubernetes)
    VITALS_ERR_INVALID,      // the SDK's own: invalid parameters, an answer that is not JSON,
                             // a URL it cannot send (http)
} vitals_err_t;

typedef struct {
    vitals_err_t kind;
    int code;             // VITALS_ERR_API: the HTTP status (404, 403, ...); else 0
    char message[1024];   // the message without the kind (cut to fit)
} vitals_error_t;

// The kind as a word: "denied", "unreachable", "auth", "timeout", "tls", "server",
// "refused", "failed", "api", "invalid" ("" for VITALS_ERR_NONE).
const char *vitals_err_name(vitals_err_t kind);

// ---------------------------------------------------------------- log

#define VITALS_LOG_TRACE VITALS_CHECK_LOG_LEVEL_TRACE
#define VITALS_LOG_DEBUG VITALS_CHECK_LOG_LEVEL_DEBUG
#define VITALS_LOG_INFO VITALS_CHECK_LOG_LEVEL_INFO
#define VITALS_LOG_WARN VITALS_CHECK_LOG_LEVEL_WARN
#define VITALS_LOG_ERROR VITALS_CHECK_LOG_LEVEL_ERROR

// Log into the host's log (printf-style; shown from `vitals --log-level LEVEL` on).
void vitals_log(vitals_check_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

// Fill a param-spec (all strings copied); `default_json` NULL means required.
void vitals_param(vitals_check_types_param_spec_t *p, const char *name, const char *kind,
                  const char *description, const char *default_json);

// A copy of a WIT string as a C string (malloc'd, NUL-terminated).
char *vitals_cstr(const check_string_t *s);

// ---------------------------------------------------------------- run input

// The check's [params] into `*params`, a cJSON object (an empty one if none; the
// caller deletes it). False with VITALS_ERR_INVALID if they are not a JSON object.
bool vitals_parse_params(const exports_vitals_check_plugin_run_input_t *input,
                         cJSON **params, vitals_error_t *err);
// The older form: the object, or NULL with `error` set.
cJSON *vitals_params(const exports_vitals_check_plugin_run_input_t *input, char *error,
                     size_t error_len);
// A string or number parameter, or the default (the host fills in no defaults).
const char *vitals_param_string(const cJSON *params, const char *name, const char *dflt);
double vitals_param_number(const cJSON *params, const char *name, double dflt);

// A granted endpoint, as C strings (copies: free with vitals_endpoint_free).
typedef struct {
    char *name;   // as in vitals.toml, e.g. "redis"
    char *kind;   // "http", "redis", "mysql" or "kubernetes"
    char **urls;  // one per member
    size_t url_count;
} vitals_endpoint_t;

// The granted endpoint `name` of `kind` (NULL: any kind) into `*ep`. False with
// VITALS_ERR_DENIED and a message saying how to grant it when there is none.
bool vitals_granted_endpoint(const exports_vitals_check_plugin_run_input_t *input,
                             const char *name, const char *kind, vitals_endpoint_t *ep,
                             vitals_error_t *err);
void vitals_endpoint_free(vitals_endpoint_t *ep);

// ---------------------------------------------------------------- HTTP

// Largest response body read into memory (as the Rust SDK's MAX_BODY_BYTES).
#define VITALS_HTTP_MAX_BODY (16u * 1024 * 1024)

// GET `url` (`http://host:port/path?query` or `https://...`) through the host, which
// lets only granted endpoints through and adds their TLS material and credentials
// itself, and read the whole body. `timeout_ms` applies to the connect, the first
// byte and between bytes (0: the host's limits; it caps them anyway). Any status is
// an answer (404 too): `*status`, and `*body` (malloc'd, NUL-terminated, `*body_len`
// bytes before the NUL; free() it). `status` and `body_len` may be NULL, and `body`
// too to drop it. Errors: DENIED (not a granted endpoint), UNREACHABLE (DNS,
// connection refused or reset, an incomplete answer), TIMEOUT, TLS, INVALID (a URL
// the SDK cannot send), FAILED (any other `wasi:http` error; a body over 16 MiB).
bool vitals_http_get(const char *url, uint32_t timeout_ms, uint16_t *status, char **body,
                     size_t *body_len, vitals_error_t *err);
// One request of vitals_http_get_all: `url` and `timeout_ms` in (as for
// vitals_http_get); `ok`, then `status` and `body` (`body_len` bytes, NUL-terminated;
// free it with vitals_http_call_free) or `err` out.
typedef struct {
    const char *url;
    uint32_t timeout_ms;
    bool ok;
    uint16_t status;
    char *body;
    size_t body_len;
    vitals_error_t err;
} vitals_http_call_t;
// GET `n` URLs at once, each as vitals_http_get would: all in flight together, every
// body read as its bytes arrive, the answers in place after about the slowest one's
// time instead of the sum of all. For asking every member together.
void vitals_http_get_all(vitals_http_call_t *calls, size_t n);
// Free a call's body (NULL afterwards, `body_len` 0); the call can be sent again.
void vitals_http_call_free(vitals_http_call_t *call);

// ---------------------------------------------------------------- Redis

// Run a read-only command on `url` of the granted redis endpoint `endpoint`. `args`
// is the command and its arguments, NULL-terminated:
// `(const char *[]){"INFO", "replication", NULL}`. `*reply` is the reply as cJSON
// (nil null, integers numbers, strings strings, arrays arrays, maps objects).
// Errors: DENIED (a command outside the read-only list), UNREACHABLE, AUTH,
// TIMEOUT, TLS, SERVER (an error reply, or an unparsable one).
bool vitals_redis_command(const char *endpoint, const char *url, const char *const *args,
                          cJSON **reply, vitals_error_t *err);
// One command of vitals_redis_command_all: `endpoint`, `url` and `args` in (as for
// vitals_redis_command); `ok` and `reply` (free it with cJSON_Delete) or `err` out.
typedef struct {
    const char *endpoint;
    const char *url;
    const char *const *args;
    bool ok;
    cJSON *reply;
    vitals_error_t err;
} vitals_redis_call_t;
// Run `n` commands at once, each as vitals_redis_command would: after about the
// slowest one's time instead of the sum of all. For asking every member together.
void vitals_redis_command_all(vitals_redis_call_t *calls, size_t n);
// An INFO reply (`key:value` lines, `# Section` headers) as a cJSON object of strings.
cJSON *vitals_parse_info(const char *text);
// A flat [field, value, ...] reply (SENTINEL MASTER, ...) or a RESP3 map as a cJSON
// object of strings.
cJSON *vitals_parse_fields(const cJSON *reply);

// ---------------------------------------------------------------- SQL

// Run one read-only statement (SELECT ..., SHOW ...) on `url` of the granted mysql
// endpoint `endpoint`. `*rows` is `{"columns": ["a", ...], "rows": [["1", null],
// ...]}`: values as strings in the text protocol's form, SQL NULL as null.
// Errors: DENIED (not a single read-only statement), UNREACHABLE, AUTH, TIMEOUT,
// TLS, SERVER.
bool vitals_sql_query(const char *endpoint, const char *url, const char *statement,
                      cJSON **rows, vitals_error_t *err);
// One statement of vitals_sql_query_all: `endpoint`, `url` and `statement` in;
// `ok` and `rows` (free it with cJSON_Delete) or `err` out.
typedef struct {
    const char *endpoint;
    const char *url;
    const char *statement;
    bool ok;
    cJSON *rows;
    vitals_error_t err;
} vitals_sql_call_t;
// Run `n` statements at once, each as vitals_sql_query would: after about the
// slowest one's time. For asking every node together.
void vitals_sql_query_all(vitals_sql_call_t *calls, size_t n);
// Each row as an object by column name (an array; NULL stays null).
cJSON *vitals_sql_records(const cJSON *rows);
// A two-column result (SHOW STATUS, SHOW VARIABLES) as an object from the first
// column to the second (NULL becomes "").
cJSON *vitals_sql_name_values(const cJSON *rows);

// ---------------------------------------------------------------- net

// Open and close a TCP connection to `address` ("10.0.0.5:443", "[fd00::5]:443"; IP
// literals only): `*seconds` it took. Errors: DENIED (not granted), REFUSED,
// TIMEOUT, UNREACHABLE, FAILED.
bool vitals_tcp_connect(const char *address, double *seconds, vitals_error_t *err);

typedef struct {
    char mac[18];    // "aa:bb:cc:dd:ee:ff"
    double seconds;  // from the first request to this reply
} vitals_arp_reply_t;

// ARP-probe the IPv4 `address`: `*replies` (malloc'd, free() it; NULL when none)
// and `*count`, one per MAC that answered (0 nobody holds it, 2+ a conflict).
// Errors: DENIED, UNREACHABLE, FAILED (ARP needs root or CAP_NET_RAW for vitals).
bool vitals_arp_probe(const char *address, vitals_arp_reply_t **replies, size_t *count,
                      vitals_error_t *err);

// One probe of vitals_tcp_connect_all or vitals_arp_probe_all: `address` in; `ok`
// and `seconds` (TCP) or `replies` (malloc'd, free() it) and `count` (ARP), or
// `err` out.
typedef struct {
    const char *address;
    bool ok;
    double seconds;
    vitals_arp_reply_t *replies;
    size_t count;
    vitals_error_t err;
} vitals_probe_t;
// vitals_tcp_connect of `n` addresses at once (contract 0.4.4; at most 16 in flight).
void vitals_tcp_connect_all(vitals_probe_t *probes, size_t n);
// vitals_arp_probe of `n` addresses at once, listening for all of them together
// (contract 0.4.4): about one probe's time instead of one per address.
void vitals_arp_probe_all(vitals_probe_t *probes, size_t n);

// ---------------------------------------------------------------- DNS

// Ask `url` of the granted dns endpoint `endpoint` for the `type` ("A", "AAAA",
// "CNAME", "SRV", "TXT", "PTR", "NS", "MX", "SOA") records of `name` (fully
// qualified; no search domains). `*answer` is `{"rcode": "NOERROR", "authoritative":
// true, "records": [{"name": ..., "type": "A", "ttl": 30, "data": "10.43.0.1"}],
// "seconds": 0.001}`: NXDOMAIN is an answer, not an error. Errors: DENIED (a URL
// not of the endpoint, not a name, an unknown type), TIMEOUT, UNREACHABLE, FAILED.
bool vitals_dns_query(const char *endpoint, const char *url, const char *name,
                      const char *type, cJSON **answer, vitals_error_t *err);
// One query of vitals_dns_query_all: `endpoint`, `url`, `name` and `type` in; `ok`
// and `answer` (free it with cJSON_Delete) or `err` out.
typedef struct {
    const char *endpoint;
    const char *url;
    const char *name;
    const char *type;
    bool ok;
    cJSON *answer;
    vitals_error_t err;
} vitals_dns_call_t;
// Run `n` queries at once, each as vitals_dns_query would.
void vitals_dns_query_all(vitals_dns_call_t *calls, size_t n);

// ---------------------------------------------------------------- Kubernetes

// GET one object (`/api/v1/namespaces/NS/configmaps/NAME`) into `*object`.
// Errors: DENIED, UNREACHABLE, TIMEOUT, TLS, API (`code`: the HTTP status).
bool vitals_k8s_get(const char *endpoint, const char *path, cJSON **object,
                    vitals_error_t *err);
// LIST `path`, every page (500 a page): `*items`, a cJSON array. Selectors may be NULL.
bool vitals_k8s_list_all(const char *endpoint, const char *path, const char *label_selector,
                         const char *field_selector, cJSON **items, vitals_error_t *err);
// One read of vitals_k8s_batch: `endpoint`, `path` in, and `list` (false: GET one
// object; true: LIST every page, with `label_selector` if not NULL). Out: `ok`, then
// `answer` (cJSON: the object of a GET, the items array of a LIST; free it with
// vitals_k8s_call_free) or `err` (as vitals_k8s_get / vitals_k8s_list_all set it,
// `code` the HTTP status for API).
typedef struct {
    const char *endpoint;
    const char *path;
    bool list;
    const char *label_selector;
    bool ok;
    cJSON *answer;
    vitals_error_t err;
} vitals_k8s_call_t;
// Run `n` reads at once (the host's kubernetes.batch), each answered as vitals_k8s_get
// or vitals_k8s_list_all would: the GETs and the LISTs' first pages together, then the
// next pages of the LISTs that have more, together, round by round. The answers in
// place after about the slowest read's time instead of the sum of all.
void vitals_k8s_batch(vitals_k8s_call_t *calls, size_t n);
// Free a call's answer (NULL afterwards); the call can be sent again.
void vitals_k8s_call_free(vitals_k8s_call_t *call);
// LIST a namespaced resource in every namespace of `namespaces` (a cJSON array of
// strings; NULL or empty: all at once) into one `*items` array: `api` is the
// group's base (`/api/v1`, `/apis/wgpolicyk8s.io/v1alpha2`), `resource` its plural.
bool vitals_k8s_list_in(const char *endpoint, const char *api, const char *resource,
                        const cJSON *namespaces, const char *label_selector, cJSON **items,
                        vitals_error_t *err);
// The older form of vitals_k8s_list_all: the items, or NULL with `error` set to a
// line like `HTTP 403 Forbidden: ...` or `denied: ...` and `*code` to the HTTP
// status of an API error (else 0).
cJSON *vitals_k8s_list(const char *endpoint, const char *path, const char *label_selector,
                       char *error, size_t error_len, int *code);

// The string at `key` of a JSON object, or "" (never NULL).
const char *vitals_json_str(const cJSON *obj, const char *key);
// The Unix time of an RFC 3339 timestamp (`2026-11-02T09:00:00Z`), or -1.
double vitals_parse_time(const char *rfc3339);
// Seconds since the Unix epoch, from the wall clock.
double vitals_now(void);

#endif
