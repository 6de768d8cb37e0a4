// vitals SDK for check plugins written in C: see vitals.h.
#include "vitals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

vitals_status_t vitals_worse(vitals_status_t a, vitals_status_t b) {
    return b > a ? b : a;  // the WIT enum is ordered by severity
}

static void set_str(check_string_t *s, const char *text) {
    // Returned strings are freed by the generated code: always a heap copy.
    if (text && *text) {
        check_string_dup(s, text);
    } else {
        s->ptr = NULL;
        s->len = 0;
    }
}

static char *vformat(const char *fmt, va_list ap) {
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    char *buf = malloc(n > 0 ? (size_t)n + 1 : 1);
    if (!buf) abort();
    vsnprintf(buf, (size_t)n + 1, fmt, ap);
    return buf;
}

static void *grow(void *ptr, size_t *cap, size_t len, size_t size) {
    if (len < *cap) return ptr;
    *cap = *cap ? *cap * 2 : 8;
    void *p = realloc(ptr, *cap * size);
    if (!p) abort();
    return p;
}

void vitals_report_init(vitals_report_t *r, exports_vitals_check_plugin_report_t *out) {
    memset(out, 0, sizeof *out);
    r->out = out;
    r->findings_cap = 0;
    r->samples_cap = 0;
}

static void add_finding(vitals_report_t *r, const char *subject, vitals_status_t status,
                        char *message) {
    vitals_check_types_list_finding_t *list = &r->out->findings;
    list->ptr = grow(list->ptr, &r->findings_cap, list->len, sizeof *list->ptr);
    vitals_check_types_finding_t *f = &list->ptr[list->len++];
    set_str(&f->subject, subject);
    f->status = status;
    set_str(&f->message, message);
    free(message);
}

void vitals_finding(vitals_report_t *r, const char *subject, vitals_status_t status,
                    const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    add_finding(r, subject, status, vformat(fmt, ap));
    va_end(ap);
    r->out->status = vitals_worse(r->out->status, status);
}

void vitals_note(vitals_report_t *r, const char *subject, vitals_status_t status,
                 const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    add_finding(r, subject, status, vformat(fmt, ap));
    va_end(ap);
}

void vitals_sample(vitals_report_t *r, const char *name, const char *help, double value,
                   const char *label1, const char *value1, const char *label2,
                   const char *value2) {
    vitals_check_types_list_sample_t *list = &r->out->samples;
    list->ptr = grow(list->ptr, &r->samples_cap, list->len, sizeof *list->ptr);
    vitals_check_types_sample_t *s = &list->ptr[list->len++];
    set_str(&s->name, name);
    set_str(&s->help, help);
    s->value = value;
    s->labels.ptr = NULL;
    s->labels.len = 0;
    const char *names[2] = {label1, label2}, *values[2] = {value1, value2};
    for (int i = 0; i < 2; i++) {
        if (!names[i]) continue;
        s->labels.ptr = realloc(s->labels.ptr, (s->labels.len + 1) * sizeof *s->labels.ptr);
        if (!s->labels.ptr) abort();
        set_str(&s->labels.ptr[s->labels.len].name, names[i]);
        set_str(&s->labels.ptr[s->labels.len].value, values[i] ? values[i] : "");
        s->labels.len++;
    }
}

void vitals_raise(vitals_report_t *r, vitals_status_t status) {
    r->out->status = vitals_worse(r->out->status, status);
}

static void set_summary(vitals_report_t *r, vitals_status_t status, char *summary) {
    if (r->out->summary.len) check_string_free(&r->out->summary);
    set_str(&r->out->summary, summary);
    free(summary);
    vitals_raise(r, status);
}

void vitals_finish(vitals_report_t *r, vitals_status_t status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_summary(r, status, vformat(fmt, ap));
    va_end(ap);
}

void vitals_summary(vitals_report_t *r, vitals_status_t status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_summary(r, status, vformat(fmt, ap));
    va_end(ap);
}

// ---------------------------------------------------------------- errors

const char *vitals_err_name(vitals_err_t kind) {
    static const char *names[] = {"",        "denied", "unreachable", "auth",
                                  "timeout", "tls",    "server",      "refused",
                                  "failed",  "api",    "invalid"};
    return (unsigned)kind < sizeof names / sizeof *names ? names[kind] : "error";
}

static bool fail(vitals_error_t *err, vitals_err_t kind, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

// Set `err` (when given) and return false.
static bool fail(vitals_error_t *err, vitals_err_t kind, int code, const char *fmt, ...) {
    if (!err) return false;
    err->kind = kind;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return false;
}

static bool ok(vitals_error_t *err) {
    if (err) {
        err->kind = VITALS_ERR_NONE;
        err->code = 0;
        err->message[0] = '\0';
    }
    return true;
}

// The redis and sql error variants have the same cases, in this order.
static const vitals_err_t DB_KINDS[] = {VITALS_ERR_DENIED, VITALS_ERR_UNREACHABLE,
                                        VITALS_ERR_AUTH,   VITALS_ERR_TIMEOUT,
                                        VITALS_ERR_TLS,    VITALS_ERR_SERVER};
static const vitals_err_t NET_KINDS[] = {VITALS_ERR_DENIED, VITALS_ERR_REFUSED,
                                         VITALS_ERR_TIMEOUT, VITALS_ERR_UNREACHABLE,
                                         VITALS_ERR_FAILED};
static const vitals_err_t DNS_KINDS[] = {VITALS_ERR_DENIED, VITALS_ERR_TIMEOUT,
                                         VITALS_ERR_UNREACHABLE, VITALS_ERR_FAILED};
static const vitals_err_t K8S_KINDS[] = {VITALS_ERR_DENIED, VITALS_ERR_UNREACHABLE,
                                         VITALS_ERR_TIMEOUT, VITALS_ERR_TLS, VITALS_ERR_API};

// An error variant whose cases all carry one string (`tag` indexes `kinds`).
static bool fail_with(vitals_error_t *err, const vitals_err_t *kinds, size_t n, uint8_t tag,
                      const check_string_t *s) {
    vitals_err_t kind = tag < n ? kinds[tag] : VITALS_ERR_FAILED;
    return fail(err, kind, 0, "%.*s", (int)s->len, (const char *)s->ptr);
}

// ---------------------------------------------------------------- log

void vitals_log(vitals_check_log_level_t level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *message = vformat(fmt, ap);
    va_end(ap);
    check_string_t m;
    check_string_set(&m, message);
    vitals_check_log_log(level, &m);
    free(message);
}

void vitals_param(vitals_check_types_param_spec_t *p, const char *name, const char *kind,
                  const char *description, const char *default_json) {
    set_str(&p->name, name);
    set_str(&p->kind, kind);
    set_str(&p->description, description);
    p->required = default_json == NULL;
    p->default_value.is_some = default_json != NULL;
    if (default_json) set_str(&p->default_value.val, default_json);
}

char *vitals_cstr(const check_string_t *s) {
    char *c = malloc(s->len + 1);
    if (!c) abort();
    memcpy(c, s->ptr, s->len);
    c[s->len] = '\0';
    return c;
}

bool vitals_parse_params(const exports_vitals_check_plugin_run_input_t *input,
                         cJSON **params, vitals_error_t *err) {
    *params = NULL;
    if (input->params.len == 0) {
        *params = cJSON_CreateObject();
        return ok(err);
    }
    cJSON *p = cJSON_ParseWithLength((const char *)input->params.ptr, input->params.len);
    if (!cJSON_IsObject(p)) {
        cJSON_Delete(p);
        return fail(err, VITALS_ERR_INVALID, 0, "invalid parameters: not a JSON object");
    }
    *params = p;
    return ok(err);
}

cJSON *vitals_params(const exports_vitals_check_plugin_run_input_t *input, char *error,
                     size_t error_len) {
    cJSON *params;
    vitals_error_t err;
    if (!vitals_parse_params(input, &params, &err)) {
        snprintf(error, error_len, "%s", err.message);
        return NULL;
    }
    return params;
}

const char *vitals_param_string(const cJSON *params, const char *name, const char *dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, name);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

double vitals_param_number(const cJSON *params, const char *name, double dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, name);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

bool vitals_granted_endpoint(const exports_vitals_check_plugin_run_input_t *input,
                             const char *name, const char *kind, vitals_endpoint_t *ep,
                             vitals_error_t *err) {
    memset(ep, 0, sizeof *ep);
    for (size_t i = 0; i < input->endpoints.len; i++) {
        const vitals_check_types_endpoint_t *e = &input->endpoints.ptr[i];
        bool same_name = e->name.len == strlen(name) && !memcmp(e->name.ptr, name, e->name.len);
        bool same_kind = !kind || (e->kind.len == strlen(kind) && !memcmp(e->kind.ptr, kind, e->kind.len));
        if (!same_name || !same_kind) continue;
        ep->name = vitals_cstr(&e->name);
        ep->kind = vitals_cstr(&e->kind);
        ep->url_count = e->urls.len;
        ep->urls = calloc(e->urls.len + 1, sizeof *ep->urls);
        if (!ep->urls) abort();
        for (size_t u = 0; u < e->urls.len; u++) ep->urls[u] = vitals_cstr(&e->urls.ptr[u]);
        return ok(err);
    }
    return fail(err, VITALS_ERR_DENIED, 0,
                "no granted %s%sendpoint \"%s\" in cluster %.*s; grant it in `grants.endpoints`",
                kind ? kind : "", kind ? " " : "", name, (int)input->cluster.len,
                (const char *)input->cluster.ptr);
}

void vitals_endpoint_free(vitals_endpoint_t *ep) {
    for (size_t u = 0; u < ep->url_count; u++) free(ep->urls[u]);
    free(ep->urls);
    free(ep->name);
    free(ep->kind);
    memset(ep, 0, sizeof *ep);
}

// ---------------------------------------------------------------- HTTP

// The wasi:http error-code cases by their WIT names, in the variant's order.
static const char *const HTTP_ERROR_NAMES[] = {
    "DNS-timeout",
    "DNS-error",
    "destination-not-found",
    "destination-unavailable",
    "destination-IP-prohibited",
    "destination-IP-unroutable",
    "connection-refused",
    "connection-terminated",
    "connection-timeout",
    "connection-read-timeout",
    "connection-write-timeout",
    "connection-limit-reached",
    "TLS-protocol-error",
    "TLS-certificate-error",
    "TLS-alert-received",
    "HTTP-request-denied",
    "HTTP-request-length-required",
    "HTTP-request-body-size",
    "HTTP-request-method-invalid",
    "HTTP-request-URI-invalid",
    "HTTP-request-URI-too-long",
    "HTTP-request-header-section-size",
    "HTTP-request-header-size",
    "HTTP-request-trailer-section-size",
    "HTTP-request-trailer-size",
    "HTTP-response-incomplete",
    "HTTP-response-header-section-size",
    "HTTP-response-header-size",
    "HTTP-response-body-size",
    "HTTP-response-trailer-section-size",
    "HTTP-response-trailer-size",
    "HTTP-response-transfer-coding",
    "HTTP-response-content-coding",
    "HTTP-response-timeout",
    "HTTP-upgrade-failed",
    "HTTP-protocol-error",
    "loop-detected",
    "configuration-error",
    "internal-error",
};

// The kind of a wasi:http error: the host refusing the destination (not granted) is
// DENIED; no connection UNREACHABLE; no answer in time TIMEOUT; TLS TLS; else FAILED.
static vitals_err_t http_kind(const wasi_http_types_error_code_t *code) {
    switch (code->tag) {
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_REQUEST_DENIED:
        return VITALS_ERR_DENIED;
    case WASI_HTTP_TYPES_ERROR_CODE_DNS_ERROR:
    case WASI_HTTP_TYPES_ERROR_CODE_DESTINATION_NOT_FOUND:
    case WASI_HTTP_TYPES_ERROR_CODE_DESTINATION_UNAVAILABLE:
    case WASI_HTTP_TYPES_ERROR_CODE_DESTINATION_IP_PROHIBITED:
    case WASI_HTTP_TYPES_ERROR_CODE_DESTINATION_IP_UNROUTABLE:
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_REFUSED:
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_TERMINATED:
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_LIMIT_REACHED:
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_RESPONSE_INCOMPLETE:
        return VITALS_ERR_UNREACHABLE;
    case WASI_HTTP_TYPES_ERROR_CODE_DNS_TIMEOUT:
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_TIMEOUT:
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_READ_TIMEOUT:
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_WRITE_TIMEOUT:
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_RESPONSE_TIMEOUT:
        return VITALS_ERR_TIMEOUT;
    case WASI_HTTP_TYPES_ERROR_CODE_TLS_PROTOCOL_ERROR:
    case WASI_HTTP_TYPES_ERROR_CODE_TLS_CERTIFICATE_ERROR:
    case WASI_HTTP_TYPES_ERROR_CODE_TLS_ALERT_RECEIVED:
        return VITALS_ERR_TLS;
    default:
        return VITALS_ERR_FAILED;
    }
}

// Set `err` from a wasi:http error (the Rust SDK's messages) and return false.
static bool http_fail(vitals_error_t *err, const wasi_http_types_error_code_t *code) {
    vitals_err_t kind = http_kind(code);
    const check_option_string_t *text = NULL;
    const char *message = NULL;
    switch (code->tag) {
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_REQUEST_DENIED:
        message = "request denied by the host: destination is not a granted endpoint";
        break;
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_REFUSED:
        message = "connection refused";
        break;
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_TIMEOUT:
        message = "connection timed out";
        break;
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_READ_TIMEOUT:
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_RESPONSE_TIMEOUT:
        message = "timed out waiting for the response";
        break;
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_TERMINATED:
        message = "connection closed by the peer";
        break;
    case WASI_HTTP_TYPES_ERROR_CODE_TLS_CERTIFICATE_ERROR:
        message = "TLS certificate verification failed (the server's certificate is not "
                  "trusted by the endpoint's CA)";
        break;
    case WASI_HTTP_TYPES_ERROR_CODE_TLS_PROTOCOL_ERROR:
        message = "TLS handshake failed";
        break;
    case WASI_HTTP_TYPES_ERROR_CODE_DNS_ERROR:
        text = &code->val.dns_error.rcode;
        return fail(err, kind, 0, "DNS error: %.*s", text->is_some ? (int)text->val.len : 0,
                    text->is_some ? (const char *)text->val.ptr : "");
    case WASI_HTTP_TYPES_ERROR_CODE_TLS_ALERT_RECEIVED:
        text = &code->val.tls_alert_received.alert_message;
        if (!text->is_some) {
            return fail(err, kind, 0,
                        "TLS alert from the server: unspecified (client certificate rejected?)");
        }
        return fail(err, kind, 0, "TLS alert from the server: %.*s (client certificate rejected?)",
                    (int)text->val.len, (const char *)text->val.ptr);
    case WASI_HTTP_TYPES_ERROR_CODE_INTERNAL_ERROR:
        text = &code->val.internal_error;
        if (text->is_some) {
            return fail(err, kind, 0, "%.*s", (int)text->val.len, (const char *)text->val.ptr);
        }
        break;
    default:
        break;
    }
    if (!message) {
        size_t n = sizeof HTTP_ERROR_NAMES / sizeof *HTTP_ERROR_NAMES;
        message = code->tag < n ? HTTP_ERROR_NAMES[code->tag] : "unknown wasi:http error";
    }
    return fail(err, kind, 0, "%s", message);
}

// Send `GET url` through the host: `*future` its response to come. No body; the
// options (when `timeout_ms` is given) and the request go to the host.
static bool http_start(const char *url, uint32_t timeout_ms,
                       wasi_http_types_own_future_incoming_response_t *future,
                       vitals_error_t *err) {
    if (!url) return fail(err, VITALS_ERR_INVALID, 0, "no URL");
    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            return fail(err, VITALS_ERR_INVALID, 0,
                        "invalid URL \"%s\": a space or control character", url);
        }
    }
    wasi_http_types_scheme_t scheme = {0};
    const char *rest;
    if (!strncasecmp(url, "http://", 7)) {
        scheme.tag = WASI_HTTP_TYPES_SCHEME_HTTP;
        rest = url + 7;
    } else if (!strncasecmp(url, "https://", 8)) {
        scheme.tag = WASI_HTTP_TYPES_SCHEME_HTTPS;
        rest = url + 8;
    } else {
        return fail(err, VITALS_ERR_INVALID, 0,
                    "unsupported URL scheme in \"%s\": expected http:// or https://", url);
    }
    size_t authority_len = strcspn(rest, "/?#");
    if (authority_len == 0) {
        return fail(err, VITALS_ERR_INVALID, 0, "URL without host: \"%s\"", url);
    }
    // The path and query, without the fragment: "/" when there is none.
    const char *path = rest + authority_len;
    size_t path_len = strcspn(path, "#");
    char *path_query = malloc(path_len + 2);
    if (!path_query) abort();
    snprintf(path_query, path_len + 2, "%s%.*s", path_len && *path == '/' ? "" : "/",
             (int)path_len, path);

    wasi_http_types_own_outgoing_request_t request =
        wasi_http_types_constructor_outgoing_request(wasi_http_types_constructor_fields());
    wasi_http_types_borrow_outgoing_request_t req =
        wasi_http_types_borrow_outgoing_request(request);
    wasi_http_types_method_t method = {.tag = WASI_HTTP_TYPES_METHOD_GET};
    check_string_t authority = {.ptr = (uint8_t *)rest, .len = authority_len}, pq;
    check_string_set(&pq, path_query);
    const char *bad = NULL;
    if (!wasi_http_types_method_outgoing_request_set_method(req, &method)) {
        bad = "method";
    } else if (!wasi_http_types_method_outgoing_request_set_scheme(req, &scheme)) {
        bad = "scheme";
    } else if (!wasi_http_types_method_outgoing_request_set_authority(req, &authority)) {
        bad = "authority";
    } else if (!wasi_http_types_method_outgoing_request_set_path_with_query(req, &pq)) {
        bad = "path";
    }
    free(path_query);  // the host has copied it
    if (bad) {
        wasi_http_types_outgoing_request_drop_own(request);
        return fail(err, VITALS_ERR_INVALID, 0, "invalid %s in \"%s\"", bad, url);
    }
    wasi_http_types_own_outgoing_body_t body;
    if (!wasi_http_types_method_outgoing_request_body(req, &body)) {
        wasi_http_types_outgoing_request_drop_own(request);
        return fail(err, VITALS_ERR_FAILED, 0, "request body already taken");
    }
    wasi_http_types_own_request_options_t options = {0};
    if (timeout_ms) {
        options = wasi_http_types_constructor_request_options();
        wasi_http_types_borrow_request_options_t o =
            wasi_http_types_borrow_request_options(options);
        wasi_http_types_duration_t ns = (uint64_t)timeout_ms * 1000000u;
        // The host may not support every option; a refusal just keeps its defaults.
        (void)wasi_http_types_method_request_options_set_connect_timeout(o, &ns);
        (void)wasi_http_types_method_request_options_set_first_byte_timeout(o, &ns);
        (void)wasi_http_types_method_request_options_set_between_bytes_timeout(o, &ns);
    }
    wasi_http_types_error_code_t code;
    // `handle` takes the request and the options, sent or not.
    if (!wasi_http_outgoing_handler_handle(request, timeout_ms ? &options : NULL, future, &code)) {
        wasi_http_types_outgoing_body_drop_own(body);
        http_fail(err, &code);
        wasi_http_types_error_code_free(&code);
        return false;
    }
    // No body for a GET: finish it at once (after `handle`, as the Rust SDK does). A
    // failure here is the request's, and its response future says so.
    wasi_http_types_error_code_t finish_code;
    if (!wasi_http_types_static_outgoing_body_finish(body, NULL, &finish_code)) {
        wasi_http_types_error_code_free(&finish_code);
    }
    return ok(err);
}

// One request's progress in vitals_http_get_all.
typedef enum { HTTP_HEAD, HTTP_BODY, HTTP_DONE } http_state_t;

typedef struct {
    http_state_t state;
    // Owned resources, each with its flag; `pollable` watches the future (HEAD) or
    // the stream (BODY). Children go first: the pollable before what it watches,
    // the stream before its body.
    bool has_future, has_response, has_body, has_stream, has_pollable;
    wasi_http_types_own_future_incoming_response_t future;
    wasi_http_types_own_incoming_response_t response;
    wasi_http_types_own_incoming_body_t body;
    wasi_io_streams_own_input_stream_t stream;
    wasi_io_poll_own_pollable_t pollable;
    uint16_t status;
    char *buf;  // the body so far, with room for a NUL
    size_t len, cap;
} http_flight_t;

static void flight_drop_pollable(http_flight_t *f) {
    if (f->has_pollable) wasi_io_poll_pollable_drop_own(f->pollable);
    f->has_pollable = false;
}

// The request is over: drop every resource (children first) and answer `c`, with
// the body read when `answered`, else with the error already in `c->err`.
static void flight_end(http_flight_t *f, vitals_http_call_t *c, bool answered) {
    flight_drop_pollable(f);
    if (f->has_stream) wasi_io_streams_input_stream_drop_own(f->stream);
    if (f->has_body) wasi_http_types_incoming_body_drop_own(f->body);
    if (f->has_response) wasi_http_types_incoming_response_drop_own(f->response);
    if (f->has_future) wasi_http_types_future_incoming_response_drop_own(f->future);
    f->has_stream = f->has_body = f->has_response = f->has_future = false;
    f->state = HTTP_DONE;
    if (answered) {
        if (!f->buf) {
            f->buf = malloc(1);
            if (!f->buf) abort();
        }
        f->buf[f->len] = '\0';
        c->ok = ok(&c->err);
        c->status = f->status;
        c->body = f->buf;
        c->body_len = f->len;
    } else {
        free(f->buf);
        c->ok = false;
    }
    f->buf = NULL;
    f->len = f->cap = 0;
}

// Append body bytes (the caller keeps the total within VITALS_HTTP_MAX_BODY).
static void flight_append(http_flight_t *f, const uint8_t *bytes, size_t n) {
    if (f->len + n + 1 > f->cap) {
        size_t cap = f->cap ? f->cap : 4096;
        while (cap < f->len + n + 1) cap *= 2;
        if (cap > (size_t)VITALS_HTTP_MAX_BODY + 1) cap = (size_t)VITALS_HTTP_MAX_BODY + 1;
        char *p = realloc(f->buf, cap);
        if (!p) abort();
        f->buf = p;
        f->cap = cap;
    }
    memcpy(f->buf + f->len, bytes, n);
    f->len += n;
}

// A failed body read: `e` (taken: dropped here) as the error, with the kind of the
// wasi:http error behind it if there is one (UNREACHABLE otherwise).
static void body_fail(vitals_error_t *err, wasi_io_error_own_error_t e) {
    wasi_io_error_borrow_error_t b = wasi_io_error_borrow_error(e);
    vitals_err_t kind = VITALS_ERR_UNREACHABLE;
    wasi_http_types_error_code_t code;
    if (wasi_http_types_http_error_code(b, &code)) {
        kind = http_kind(&code);
        wasi_http_types_error_code_free(&code);
    }
    check_string_t debug;
    wasi_io_error_method_error_to_debug_string(b, &debug);
    fail(err, kind, 0, "reading response body: %.*s", (int)debug.len, (const char *)debug.ptr);
    check_string_free(&debug);
    wasi_io_error_error_drop_own(e);
}

// Take every step that does not block: the response head if it is here, then
// whatever body bytes have arrived, until the body is closed.
static void flight_advance(http_flight_t *f, vitals_http_call_t *c) {
    if (f->state == HTTP_HEAD) {
        wasi_http_types_result_result_own_incoming_response_error_code_void_t got;
        wasi_http_types_borrow_future_incoming_response_t future =
            wasi_http_types_borrow_future_incoming_response(f->future);
        if (!wasi_http_types_method_future_incoming_response_get(future, &got)) return;  // not yet
        flight_drop_pollable(f);
        if (got.is_err) {
            fail(&c->err, VITALS_ERR_FAILED, 0, "response future in an invalid state");
            flight_end(f, c, false);
            return;
        }
        if (got.val.ok.is_err) {
            http_fail(&c->err, &got.val.ok.val.err);
            wasi_http_types_error_code_free(&got.val.ok.val.err);
            flight_end(f, c, false);
            return;
        }
        f->response = got.val.ok.val.ok;
        f->has_response = true;
        wasi_http_types_borrow_incoming_response_t response =
            wasi_http_types_borrow_incoming_response(f->response);
        f->status = wasi_http_types_method_incoming_response_status(response);
        if (!wasi_http_types_method_incoming_response_consume(response, &f->body)) {
            fail(&c->err, VITALS_ERR_FAILED, 0, "response body already taken");
            flight_end(f, c, false);
            return;
        }
        f->has_body = true;
        if (!wasi_http_types_method_incoming_body_stream(
                wasi_http_types_borrow_incoming_body(f->body), &f->stream)) {
            fail(&c->err, VITALS_ERR_FAILED, 0, "response body stream");
            flight_end(f, c, false);
            return;
        }
        f->has_stream = true;
        f->pollable = wasi_io_streams_method_input_stream_subscribe(
            wasi_io_streams_borrow_input_stream(f->stream));
        f->has_pollable = true;
        f->state = HTTP_BODY;
    }
    if (f->state != HTTP_BODY) return;
    for (;;) {
        check_list_u8_t chunk;
        wasi_io_streams_stream_error_t e;
        wasi_io_streams_borrow_input_stream_t stream =
            wasi_io_streams_borrow_input_stream(f->stream);
        if (!wasi_io_streams_method_input_stream_read(stream, 64 * 1024, &chunk, &e)) {
            bool closed = e.tag == WASI_IO_STREAMS_STREAM_ERROR_CLOSED;  // the whole body is here
            if (!closed) body_fail(&c->err, e.val.last_operation_failed);
            flight_end(f, c, closed);
            return;
        }
        if (chunk.len == 0) return;  // nothing more yet: wait for the stream's pollable
        bool fits = chunk.len <= (size_t)VITALS_HTTP_MAX_BODY - f->len;
        if (fits) flight_append(f, chunk.ptr, chunk.len);
        check_list_u8_free(&chunk);
        if (!fits) {
            fail(&c->err, VITALS_ERR_FAILED, 0, "response body larger than %u bytes",
                 VITALS_HTTP_MAX_BODY);
            flight_end(f, c, false);
            return;
        }
    }
}

void vitals_http_get_all(vitals_http_call_t *calls, size_t n) {
    if (n == 0) return;
    http_flight_t *flights = calloc(n, sizeof *flights);
    wasi_io_poll_borrow_pollable_t *waiting = calloc(n, sizeof *waiting);
    size_t *index = calloc(n, sizeof *index);  // waiting entry -> call
    if (!flights || !waiting || !index) abort();
    for (size_t i = 0; i < n; i++) {
        http_flight_t *f = &flights[i];
        vitals_http_call_t *c = &calls[i];
        c->ok = false;
        c->status = 0;
        c->body = NULL;
        c->body_len = 0;
        if (!http_start(c->url, c->timeout_ms, &f->future, &c->err)) {
            f->state = HTTP_DONE;  // refused before it was sent: its error is set
            continue;
        }
        f->has_future = true;
        f->pollable = wasi_http_types_method_future_incoming_response_subscribe(
            wasi_http_types_borrow_future_incoming_response(f->future));
        f->has_pollable = true;
        f->state = HTTP_HEAD;
    }
    // Every request in flight: wait for them all at once, taking whichever answer or
    // body bytes arrive first (the host reads a body only as the plugin does).
    for (;;) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (flights[i].state == HTTP_DONE) continue;
            waiting[m] = wasi_io_poll_borrow_pollable(flights[i].pollable);
            index[m++] = i;
        }
        if (m == 0) break;
        wasi_io_poll_list_borrow_pollable_t list = {.ptr = waiting, .len = m};
        check_list_u32_t ready;
        wasi_io_poll_poll(&list, &ready);
        for (size_t k = 0; k < ready.len; k++) {
            if (ready.ptr[k] >= m) continue;
            size_t i = index[ready.ptr[k]];
            flight_advance(&flights[i], &calls[i]);
        }
        check_list_u32_free(&ready);
    }
    free(index);
    free(waiting);
    free(flights);
}

bool vitals_http_get(const char *url, uint32_t timeout_ms, uint16_t *status, char **body,
                     size_t *body_len, vitals_error_t *err) {
    vitals_http_call_t call = {.url = url, .timeout_ms = timeout_ms};
    vitals_http_get_all(&call, 1);
    if (status) *status = call.status;
    if (body_len) *body_len = call.body_len;
    if (body) {
        *body = call.body;
    } else {
        free(call.body);
    }
    if (err) *err = call.err;
    return call.ok;
}

void vitals_http_call_free(vitals_http_call_t *call) {
    free(call->body);
    call->body = NULL;
    call->body_len = 0;
}

// ---------------------------------------------------------------- Redis

// A reply's JSON text as cJSON.
static bool reply_json(const check_string_t *text, cJSON **reply, vitals_error_t *err) {
    cJSON *v = cJSON_ParseWithLength((const char *)text->ptr, text->len);
    if (!v) return fail(err, VITALS_ERR_SERVER, 0, "unparsable reply");
    *reply = v;
    return ok(err);
}

bool vitals_redis_command(const char *endpoint, const char *url, const char *const *args,
                          cJSON **reply, vitals_error_t *err) {
    *reply = NULL;
    size_t n = 0;
    while (args && args[n]) n++;
    check_list_string_t list = {.ptr = calloc(n ? n : 1, sizeof(check_string_t)), .len = n};
    if (!list.ptr) abort();
    for (size_t i = 0; i < n; i++) check_string_set(&list.ptr[i], args[i]);
    check_string_t ep, u, text;
    check_string_set(&ep, endpoint);
    check_string_set(&u, url);
    vitals_check_redis_error_t e;
    bool answered = vitals_check_redis_command(&ep, &u, &list, &text, &e);
    free(list.ptr);  // the strings only point at `args`
    if (!answered) {
        fail_with(err, DB_KINDS, 6, e.tag, &e.val.denied);
        vitals_check_redis_error_free(&e);
        return false;
    }
    bool parsed = reply_json(&text, reply, err);
    check_string_free(&text);
    return parsed;
}

void vitals_redis_command_all(vitals_redis_call_t *calls, size_t n) {
    vitals_check_redis_list_request_t list = {.ptr = calloc(n ? n : 1, sizeof *list.ptr), .len = n};
    if (!list.ptr) abort();
    for (size_t i = 0; i < n; i++) {
        vitals_check_redis_request_t *req = &list.ptr[i];
        size_t m = 0;
        while (calls[i].args && calls[i].args[m]) m++;
        req->args.ptr = calloc(m ? m : 1, sizeof(check_string_t));
        if (!req->args.ptr) abort();
        req->args.len = m;
        for (size_t j = 0; j < m; j++) check_string_set(&req->args.ptr[j], calls[i].args[j]);
        check_string_set(&req->endpoint, calls[i].endpoint);
        check_string_set(&req->url, calls[i].url);
    }
    vitals_check_redis_list_result_string_error_t results;
    vitals_check_redis_command_all(&list, &results);
    for (size_t i = 0; i < n; i++) free(list.ptr[i].args.ptr);  // they point at `args`
    free(list.ptr);
    for (size_t i = 0; i < n; i++) {
        calls[i].reply = NULL;
        if (i >= results.len) {
            calls[i].ok = fail(&calls[i].err, VITALS_ERR_INVALID, 0, "no answer from the host");
        } else if (results.ptr[i].is_err) {
            vitals_check_redis_error_t *e = &results.ptr[i].val.err;
            calls[i].ok = fail_with(&calls[i].err, DB_KINDS, 6, e->tag, &e->val.denied);
        } else {
            calls[i].ok = reply_json(&results.ptr[i].val.ok, &calls[i].reply, &calls[i].err);
        }
    }
    vitals_check_redis_list_result_string_error_free(&results);
}

cJSON *vitals_parse_info(const char *text) {
    cJSON *out = cJSON_CreateObject();
    const char *line = text ? text : "";
    while (*line) {
        size_t len = strcspn(line, "\r\n");
        const char *colon = memchr(line, ':', len);
        if (*line != '#' && colon) {
            const char *k = line, *ke = colon, *v = colon + 1, *ve = line + len;
            while (k < ke && (*k == ' ' || *k == '\t')) k++;
            while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t')) ke--;
            while (v < ve && (*v == ' ' || *v == '\t')) v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
            char *key = strndup(k, (size_t)(ke - k)), *value = strndup(v, (size_t)(ve - v));
            if (!key || !value) abort();
            cJSON_DeleteItemFromObjectCaseSensitive(out, key);
            cJSON_AddStringToObject(out, key, value);
            free(key);
            free(value);
        }
        line += len;
        while (*line == '\r' || *line == '\n') line++;
    }
    return out;
}

// A reply value as text: a string as is, anything else as compact JSON.
static void add_text(cJSON *obj, const char *key, const cJSON *v) {
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    if (cJSON_IsString(v)) {
        cJSON_AddStringToObject(obj, key, v->valuestring);
    } else {
        char *text = cJSON_PrintUnformatted(v);
        cJSON_AddStringToObject(obj, key, text ? text : "");
        free(text);
    }
}

cJSON *vitals_parse_fields(const cJSON *reply) {
    cJSON *out = cJSON_CreateObject();
    const cJSON *item;
    if (cJSON_IsArray(reply)) {
        for (item = reply->child; item && item->next; item = item->next->next) {
            if (cJSON_IsString(item)) {
                add_text(out, item->valuestring, item->next);
            } else {
                char *key = cJSON_PrintUnformatted(item);
                add_text(out, key ? key : "", item->next);
                free(key);
            }
        }
    } else if (cJSON_IsObject(reply)) {
        cJSON_ArrayForEach(item, reply) add_text(out, item->string, item);
    }
    return out;
}

// ---------------------------------------------------------------- SQL

static cJSON *rows_json(const vitals_check_sql_rows_t *res);

bool vitals_sql_query(const char *endpoint, const char *url, const char *statement,
                      cJSON **rows, vitals_error_t *err) {
    *rows = NULL;
    check_string_t ep, u, st;
    check_string_set(&ep, endpoint);
    check_string_set(&u, url);
    check_string_set(&st, statement);
    vitals_check_sql_rows_t res;
    vitals_check_sql_error_t e;
    if (!vitals_check_sql_query(&ep, &u, &st, &res, &e)) {
        fail_with(err, DB_KINDS, 6, e.tag, &e.val.denied);
        vitals_check_sql_error_free(&e);
        return false;
    }
    *rows = rows_json(&res);
    vitals_check_sql_rows_free(&res);
    return ok(err);
}

void vitals_sql_query_all(vitals_sql_call_t *calls, size_t n) {
    vitals_check_sql_list_request_t list = {.ptr = calloc(n ? n : 1, sizeof *list.ptr), .len = n};
    if (!list.ptr) abort();
    for (size_t i = 0; i < n; i++) {
        check_string_set(&list.ptr[i].endpoint, calls[i].endpoint);
        check_string_set(&list.ptr[i].url, calls[i].url);
        check_string_set(&list.ptr[i].statement, calls[i].statement);
    }
    vitals_check_sql_list_result_rows_error_t results;
    vitals_check_sql_query_all(&list, &results);
    free(list.ptr);  // the strings point at `calls`
    for (size_t i = 0; i < n; i++) {
        calls[i].rows = NULL;
        if (i >= results.len) {
            calls[i].ok = fail(&calls[i].err, VITALS_ERR_INVALID, 0, "no answer from the host");
        } else if (results.ptr[i].is_err) {
            vitals_check_sql_error_t *e = &results.ptr[i].val.err;
            calls[i].ok = fail_with(&calls[i].err, DB_KINDS, 6, e->tag, &e->val.denied);
        } else {
            calls[i].rows = rows_json(&results.ptr[i].val.ok);
            calls[i].ok = ok(&calls[i].err);
        }
    }
    vitals_check_sql_list_result_rows_error_free(&results);
}

// A result set as `{"columns": [...], "rows": [[...], ...]}`.
static cJSON *rows_json(const vitals_check_sql_rows_t *res) {
    cJSON *out = cJSON_CreateObject();
    cJSON *columns = cJSON_AddArrayToObject(out, "columns");
    for (size_t i = 0; i < res->columns.len; i++) {
        char *c = vitals_cstr(&res->columns.ptr[i]);
        cJSON_AddItemToArray(columns, cJSON_CreateString(c));
        free(c);
    }
    cJSON *list = cJSON_AddArrayToObject(out, "rows");
    for (size_t r = 0; r < res->rows.len; r++) {
        cJSON *row = cJSON_CreateArray();
        for (size_t i = 0; i < res->rows.ptr[r].len; i++) {
            check_option_string_t *v = &res->rows.ptr[r].ptr[i];
            if (v->is_some) {
                char *c = vitals_cstr(&v->val);
                cJSON_AddItemToArray(row, cJSON_CreateString(c));
                free(c);
            } else {
                cJSON_AddItemToArray(row, cJSON_CreateNull());
            }
        }
        cJSON_AddItemToArray(list, row);
    }
    return out;
}

cJSON *vitals_sql_records(const cJSON *rows) {
    cJSON *out = cJSON_CreateArray();
    const cJSON *columns = cJSON_GetObjectItemCaseSensitive(rows, "columns");
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(rows, "rows")) {
        cJSON *record = cJSON_CreateObject();
        const cJSON *column = columns ? columns->child : NULL;
        const cJSON *value = row->child;
        for (; column && value; column = column->next, value = value->next) {
            cJSON_DeleteItemFromObjectCaseSensitive(record, column->valuestring);
            cJSON_AddItemToObject(record, column->valuestring, cJSON_Duplicate(value, true));
        }
        cJSON_AddItemToArray(out, record);
    }
    return out;
}

cJSON *vitals_sql_name_values(const cJSON *rows) {
    cJSON *out = cJSON_CreateObject();
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(rows, "rows")) {
        const cJSON *name = cJSON_GetArrayItem(row, 0), *value = cJSON_GetArrayItem(row, 1);
        if (!cJSON_IsString(name)) continue;
        cJSON_DeleteItemFromObjectCaseSensitive(out, name->valuestring);
        cJSON_AddStringToObject(out, name->valuestring,
                                cJSON_IsString(value) ? value->valuestring : "");
    }
    return out;
}

// ---------------------------------------------------------------- net

bool vitals_tcp_connect(const char *address, double *seconds, vitals_error_t *err) {
    check_string_t a;
    check_string_set(&a, address);
    vitals_check_net_error_t e;
    *seconds = 0;
    if (!vitals_check_net_tcp_connect(&a, seconds, &e)) {
        fail_with(err, NET_KINDS, 5, e.tag, &e.val.denied);
        vitals_check_net_error_free(&e);
        return false;
    }
    return ok(err);
}

// The host's replies, copied into `*replies` (malloc'd; NULL when none) and `*count`.
static void copy_replies(const vitals_check_net_list_arp_reply_t *res,
                         vitals_arp_reply_t **replies, size_t *count) {
    *replies = NULL;
    if (res->len) {
        *replies = calloc(res->len, sizeof **replies);
        if (!*replies) abort();
        for (size_t i = 0; i < res->len; i++) {
            snprintf((*replies)[i].mac, sizeof (*replies)[i].mac, "%.*s",
                     (int)res->ptr[i].mac.len, (const char *)res->ptr[i].mac.ptr);
            (*replies)[i].seconds = res->ptr[i].seconds;
        }
    }
    *count = res->len;
}

bool vitals_arp_probe(const char *address, vitals_arp_reply_t **replies, size_t *count,
                      vitals_error_t *err) {
    check_string_t a;
    check_string_set(&a, address);
    vitals_check_net_list_arp_reply_t res;
    vitals_check_net_error_t e;
    *replies = NULL;
    *count = 0;
    if (!vitals_check_net_arp_probe(&a, &res, &e)) {
        fail_with(err, NET_KINDS, 5, e.tag, &e.val.denied);
        vitals_check_net_error_free(&e);
        return false;
    }
    copy_replies(&res, replies, count);
    vitals_check_net_list_arp_reply_free(&res);
    return ok(err);
}

// The probes' addresses as the host takes them (the strings point at `probes`).
static check_list_string_t addresses(const vitals_probe_t *probes, size_t n) {
    check_list_string_t list = {.ptr = calloc(n ? n : 1, sizeof(check_string_t)), .len = n};
    if (!list.ptr) abort();
    for (size_t i = 0; i < n; i++) check_string_set(&list.ptr[i], probes[i].address);
    return list;
}

// `p` with the host's answer to it: none (`answered` false), the error `e`, or
// (true) success, its result for the caller to fill in.
static bool probe_answered(vitals_probe_t *p, bool answered, const vitals_check_net_error_t *e) {
    p->seconds = 0;
    p->replies = NULL;
    p->count = 0;
    if (!answered) {
        p->ok = fail(&p->err, VITALS_ERR_INVALID, 0, "no answer from the host");
    } else if (e) {
        p->ok = fail_with(&p->err, NET_KINDS, 5, e->tag, &e->val.denied);
    } else {
        p->ok = ok(&p->err);
    }
    return p->ok;
}

void vitals_tcp_connect_all(vitals_probe_t *probes, size_t n) {
    check_list_string_t list = addresses(probes, n);
    vitals_check_net_list_result_f64_error_t res;
    vitals_check_net_tcp_connect_all(&list, &res);
    free(list.ptr);
    for (size_t i = 0; i < n; i++) {
        bool answered = i < res.len;
        if (probe_answered(&probes[i], answered,
                           answered && res.ptr[i].is_err ? &res.ptr[i].val.err : NULL)) {
            probes[i].seconds = res.ptr[i].val.ok;
        }
    }
    vitals_check_net_list_result_f64_error_free(&res);
}

void vitals_arp_probe_all(vitals_probe_t *probes, size_t n) {
    check_list_string_t list = addresses(probes, n);
    vitals_check_net_list_result_list_arp_reply_error_t res;
    vitals_check_net_arp_probe_all(&list, &res);
    free(list.ptr);
    for (size_t i = 0; i < n; i++) {
        bool answered = i < res.len;
        if (probe_answered(&probes[i], answered,
                           answered && res.ptr[i].is_err ? &res.ptr[i].val.err : NULL)) {
            copy_replies(&res.ptr[i].val.ok, &probes[i].replies, &probes[i].count);
        }
    }
    vitals_check_net_list_result_list_arp_reply_error_free(&res);
}

// ---------------------------------------------------------------- DNS

static const char *const QUERY_TYPES[] = {"A",   "AAAA", "CNAME", "SRV", "TXT",
                                          "PTR", "NS",   "MX",    "SOA"};

// The query type named `type` (any case), or false with `err` set.
static bool query_type(const char *type, vitals_check_dns_query_type_t *t, vitals_error_t *err) {
    for (size_t i = 0; i < sizeof QUERY_TYPES / sizeof *QUERY_TYPES; i++) {
        if (type && !strcasecmp(type, QUERY_TYPES[i])) {
            *t = (vitals_check_dns_query_type_t)i;
            return true;
        }
    }
    return fail(err, VITALS_ERR_DENIED, 0,
                "query type \"%s\": expected A, AAAA, CNAME, SRV, TXT, PTR, NS, MX or SOA",
                type ? type : "");
}

static cJSON *string_json(const check_string_t *s) {
    char *text = vitals_cstr(s);
    cJSON *v = cJSON_CreateString(text);
    free(text);
    return v;
}

// An answer as cJSON (see vitals_dns_query).
static cJSON *answer_json(const vitals_check_dns_answer_t *a) {
    cJSON *out = cJSON_CreateObject(), *records = cJSON_CreateArray();
    cJSON_AddItemToObject(out, "rcode", string_json(&a->rcode));
    cJSON_AddBoolToObject(out, "authoritative", a->authoritative);
    for (size_t i = 0; i < a->records.len; i++) {
        const vitals_check_dns_dns_record_t *r = &a->records.ptr[i];
        cJSON *rec = cJSON_CreateObject();
        cJSON_AddItemToObject(rec, "name", string_json(&r->name));
        cJSON_AddItemToObject(rec, "type", string_json(&r->type));
        cJSON_AddNumberToObject(rec, "ttl", r->ttl);
        cJSON_AddItemToObject(rec, "data", string_json(&r->data));
        cJSON_AddItemToArray(records, rec);
    }
    cJSON_AddItemToObject(out, "records", records);
    cJSON_AddNumberToObject(out, "seconds", a->seconds);
    return out;
}

bool vitals_dns_query(const char *endpoint, const char *url, const char *name,
                      const char *type, cJSON **answer, vitals_error_t *err) {
    *answer = NULL;
    vitals_check_dns_query_type_t t;
    if (!query_type(type, &t, err)) return false;
    check_string_t ep, u, n;
    check_string_set(&ep, endpoint);
    check_string_set(&u, url);
    check_string_set(&n, name);
    vitals_check_dns_answer_t a;
    vitals_check_dns_error_t e;
    if (!vitals_check_dns_query(&ep, &u, &n, t, &a, &e)) {
        fail_with(err, DNS_KINDS, 4, e.tag, &e.val.denied);
        vitals_check_dns_error_free(&e);
        return false;
    }
    *answer = answer_json(&a);
    vitals_check_dns_answer_free(&a);
    return ok(err);
}

void vitals_dns_query_all(vitals_dns_call_t *calls, size_t n) {
    vitals_check_dns_list_request_t list = {.ptr = calloc(n ? n : 1, sizeof *list.ptr), .len = 0};
    size_t *index = calloc(n ? n : 1, sizeof *index);  // list entry -> call
    if (!list.ptr || !index) abort();
    for (size_t i = 0; i < n; i++) {
        calls[i].answer = NULL;
        vitals_check_dns_query_type_t t;
        calls[i].ok = query_type(calls[i].type, &t, &calls[i].err);
        if (!calls[i].ok) continue;  // refused here: not sent
        vitals_check_dns_request_t *req = &list.ptr[list.len];
        check_string_set(&req->endpoint, calls[i].endpoint);
        check_string_set(&req->url, calls[i].url);
        check_string_set(&req->name, calls[i].name);
        req->query_type = t;
        index[list.len++] = i;
    }
    vitals_check_dns_list_result_answer_error_t results = {0};
    if (list.len) vitals_check_dns_query_all(&list, &results);
    free(list.ptr);  // the strings only point at the calls'
    for (size_t k = 0; k < list.len; k++) {
        vitals_dns_call_t *c = &calls[index[k]];
        if (k >= results.len) {
            c->ok = fail(&c->err, VITALS_ERR_INVALID, 0, "no answer from the host");
        } else if (results.ptr[k].is_err) {
            vitals_check_dns_error_t *e = &results.ptr[k].val.err;
            c->ok = fail_with(&c->err, DNS_KINDS, 4, e->tag, &e->val.denied);
        } else {
            c->answer = answer_json(&results.ptr[k].val.ok);
            c->ok = ok(&c->err);
        }
    }
    if (list.len) vitals_check_dns_list_result_answer_error_free(&results);
    free(index);
}

// ---------------------------------------------------------------- Kubernetes

// Set `err` from a kubernetes error (left for the caller to free) and return false.
static bool k8s_error(vitals_error_t *err, const vitals_check_kubernetes_error_t *e) {
    if (e->tag == VITALS_CHECK_KUBERNETES_ERROR_API) {
        const vitals_check_kubernetes_api_status_t *s = &e->val.api;
        return fail(err, VITALS_ERR_API, s->code, "HTTP %u %.*s: %.*s", s->code,
                    (int)s->reason.len, (const char *)s->reason.ptr, (int)s->message.len,
                    (const char *)s->message.ptr);
    }
    // denied, unreachable, timeout and tls all carry one string.
    return fail_with(err, K8S_KINDS, 5, e->tag, &e->val.denied);
}

// k8s_error, freeing `e`.
static bool k8s_fail(vitals_error_t *err, vitals_check_kubernetes_error_t *e) {
    k8s_error(err, e);
    vitals_check_kubernetes_error_free(e);
    return false;
}

// A GET's answer `body` (of `path`) as cJSON into `*object`.
static bool k8s_object(const char *path, const check_string_t *body, cJSON **object,
                       vitals_error_t *err) {
    *object = cJSON_ParseWithLength((const char *)body->ptr, body->len);
    if (!*object) return fail(err, VITALS_ERR_INVALID, 0, "GET %s: the answer is not JSON", path);
    return ok(err);
}

// A LIST page `body` (of `path`): its items moved to the end of `all`, and `*token`
// the next page's continue token (malloc'd), or NULL after the last page.
static bool k8s_page(const char *path, const check_string_t *body, cJSON *all, char **token,
                     vitals_error_t *err) {
    *token = NULL;
    cJSON *page = cJSON_ParseWithLength((const char *)body->ptr, body->len);
    cJSON *list = cJSON_GetObjectItemCaseSensitive(page, "items");
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(page);
        return fail(err, VITALS_ERR_INVALID, 0, "LIST %s: the answer is not a list", path);
    }
    cJSON *item;
    while ((item = cJSON_DetachItemFromArray(list, 0)) != NULL) cJSON_AddItemToArray(all, item);
    const char *next = vitals_json_str(cJSON_GetObjectItemCaseSensitive(page, "metadata"), "continue");
    if (*next) {
        *token = strdup(next);
        if (!*token) abort();
    }
    cJSON_Delete(page);
    return ok(err);
}

// The options of a LIST page: `limit` 500, the selectors when given (not NULL, not
// empty) and the continue token. The strings only point at the arguments.
static vitals_check_kubernetes_list_options_t k8s_options(const char *label_selector,
                                                          const char *field_selector,
                                                          const char *token) {
    vitals_check_kubernetes_list_options_t opts = {0};
    if (label_selector && *label_selector) {
        opts.label_selector.is_some = true;
        check_string_set(&opts.label_selector.val, label_selector);
    }
    if (field_selector && *field_selector) {
        opts.field_selector.is_some = true;
        check_string_set(&opts.field_selector.val, field_selector);
    }
    opts.limit.is_some = true;
    opts.limit.val = 500;
    if (token) {
        opts.continue_token.is_some = true;
        check_string_set(&opts.continue_token.val, token);
    }
    return opts;
}

bool vitals_k8s_get(const char *endpoint, const char *path, cJSON **object,
                    vitals_error_t *err) {
    check_string_t ep, p, body;
    check_string_set(&ep, endpoint);
    check_string_set(&p, path);
    vitals_check_kubernetes_error_t e;
    *object = NULL;
    if (!vitals_check_kubernetes_get(&ep, &p, &body, &e)) return k8s_fail(err, &e);
    bool parsed = k8s_object(path, &body, object, err);
    check_string_free(&body);
    return parsed;
}

bool vitals_k8s_list_all(const char *endpoint, const char *path, const char *label_selector,
                         const char *field_selector, cJSON **items, vitals_error_t *err) {
    check_string_t ep, p;
    check_string_set(&ep, endpoint);
    check_string_set(&p, path);
    *items = NULL;
    cJSON *all = cJSON_CreateArray();
    char *token = NULL;
    do {
        vitals_check_kubernetes_list_options_t opts =
            k8s_options(label_selector, field_selector, token);
        check_string_t body;
        vitals_check_kubernetes_error_t e;
        bool answered = vitals_check_kubernetes_list(&ep, &p, &opts, &body, &e);
        free(token);
        token = NULL;
        if (!answered) {
            cJSON_Delete(all);
            return k8s_fail(err, &e);
        }
        bool paged = k8s_page(path, &body, all, &token, err);
        check_string_free(&body);
        if (!paged) {
            cJSON_Delete(all);
            return false;
        }
    } while (token);
    *items = all;
    return ok(err);
}

void vitals_k8s_batch(vitals_k8s_call_t *calls, size_t n) {
    if (n == 0) return;
    vitals_check_kubernetes_read_t *reads = calloc(n, sizeof *reads);
    size_t *index = calloc(n, sizeof *index);  // read -> call
    bool *pending = calloc(n, sizeof *pending);  // a read still to send
    char **token = calloc(n, sizeof *token);     // a LIST's next page (NULL: its first)
    if (!reads || !index || !pending || !token) abort();
    for (size_t i = 0; i < n; i++) {
        vitals_k8s_call_t *c = &calls[i];
        c->answer = NULL;
        c->ok = false;
        if (!c->endpoint || !c->path) {
            fail(&c->err, VITALS_ERR_INVALID, 0, "no endpoint or path");  // not sent
            continue;
        }
        ok(&c->err);
        if (c->list) c->answer = cJSON_CreateArray();
        pending[i] = true;
    }
    // The GETs and first pages together; then the next pages of the LISTs that have
    // more, together, round by round.
    for (;;) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (!pending[i]) continue;
            vitals_check_kubernetes_read_t *read = &reads[m];
            memset(read, 0, sizeof *read);
            check_string_set(&read->endpoint, calls[i].endpoint);
            check_string_set(&read->path, calls[i].path);
            if (calls[i].list) {
                read->list.is_some = true;
                read->list.val = k8s_options(calls[i].label_selector, NULL, token[i]);
            }
            pending[i] = false;
            index[m++] = i;
        }
        if (m == 0) break;
        vitals_check_kubernetes_list_read_t list = {.ptr = reads, .len = m};
        vitals_check_kubernetes_list_result_string_error_t results = {0};
        vitals_check_kubernetes_batch(&list, &results);
        // The reads only pointed at the calls' strings and the tokens: done with them.
        for (size_t k = 0; k < m; k++) {
            free(token[index[k]]);
            token[index[k]] = NULL;
        }
        for (size_t k = 0; k < m; k++) {
            size_t i = index[k];
            vitals_k8s_call_t *c = &calls[i];
            bool answered;
            if (k >= results.len) {
                answered = fail(&c->err, VITALS_ERR_INVALID, 0, "no answer from the host");
            } else if (results.ptr[k].is_err) {
                answered = k8s_error(&c->err, &results.ptr[k].val.err);
            } else if (!c->list) {
                answered = k8s_object(c->path, &results.ptr[k].val.ok, &c->answer, &c->err);
            } else {
                answered = k8s_page(c->path, &results.ptr[k].val.ok, c->answer, &token[i],
                                    &c->err);
                pending[i] = answered && token[i];  // another page to read
            }
            if (!answered) {
                cJSON_Delete(c->answer);
                c->answer = NULL;
            }
            c->ok = answered && !pending[i];
        }
        vitals_check_kubernetes_list_result_string_error_free(&results);
    }
    free(token);
    free(pending);
    free(index);
    free(reads);
}

void vitals_k8s_call_free(vitals_k8s_call_t *call) {
    cJSON_Delete(call->answer);
    call->answer = NULL;
}

bool vitals_k8s_list_in(const char *endpoint, const char *api, const char *resource,
                        const cJSON *namespaces, const char *label_selector, cJSON **items,
                        vitals_error_t *err) {
    char path[512];
    if (cJSON_GetArraySize(namespaces) == 0) {
        snprintf(path, sizeof path, "%s/%s", api, resource);
        return vitals_k8s_list_all(endpoint, path, label_selector, NULL, items, err);
    }
    *items = cJSON_CreateArray();
    const cJSON *ns;
    cJSON_ArrayForEach(ns, namespaces) {
        snprintf(path, sizeof path, "%s/namespaces/%s/%s", api,
                 cJSON_IsString(ns) ? ns->valuestring : "", resource);
        cJSON *some;
        if (!vitals_k8s_list_all(endpoint, path, label_selector, NULL, &some, err)) {
            cJSON_Delete(*items);
            *items = NULL;
            return false;
        }
        cJSON *item;
        while ((item = cJSON_DetachItemFromArray(some, 0)) != NULL) cJSON_AddItemToArray(*items, item);
        cJSON_Delete(some);
    }
    return ok(err);
}

cJSON *vitals_k8s_list(const char *endpoint, const char *path, const char *label_selector,
                       char *error, size_t error_len, int *code) {
    cJSON *items;
    vitals_error_t err;
    if (vitals_k8s_list_all(endpoint, path, label_selector, NULL, &items, &err)) {
        *code = 0;
        return items;
    }
    *code = err.code;
    if (err.kind == VITALS_ERR_API || err.kind == VITALS_ERR_INVALID) {
        snprintf(error, error_len, "%s", err.message);
    } else {
        snprintf(error, error_len, "%s: %s", vitals_err_name(err.kind), err.message);
    }
    return NULL;
}

const char *vitals_json_str(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

double vitals_parse_time(const char *s) {
    int y, mo, d, h, mi;
    double sec;
    if (!s || sscanf(s, "%d-%d-%dT%d:%d:%lf", &y, &mo, &d, &h, &mi, &sec) != 6) return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    double t = (double)timegm(&tm) + sec;
    // An offset instead of Z: 2026-11-02T10:00:00+01:00.
    const char *tz = strpbrk(s + 19, "Zz+-");
    int oh, om;
    if (tz && (*tz == '+' || *tz == '-') && sscanf(tz + 1, "%d:%d", &oh, &om) == 2) {
        t -= (*tz == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    }
    return t;
}

double vitals_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
