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
    if (res.len) {
        *replies = calloc(res.len, sizeof **replies);
        if (!*replies) abort();
        for (size_t i = 0; i < res.len; i++) {
            snprintf((*replies)[i].mac, sizeof (*replies)[i].mac, "%.*s", (int)res.ptr[i].mac.len,
                     (const char *)res.ptr[i].mac.ptr);
            (*replies)[i].seconds = res.ptr[i].seconds;
        }
    }
    *count = res.len;
    vitals_check_net_list_arp_reply_free(&res);
    return ok(err);
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

static bool k8s_fail(vitals_error_t *err, vitals_check_kubernetes_error_t *e) {
    if (e->tag == VITALS_CHECK_KUBERNETES_ERROR_API) {
        vitals_check_kubernetes_api_status_t *s = &e->val.api;
        fail(err, VITALS_ERR_API, s->code, "HTTP %u %.*s: %.*s", s->code, (int)s->reason.len,
             (const char *)s->reason.ptr, (int)s->message.len, (const char *)s->message.ptr);
    } else {
        // denied, unreachable, timeout and tls all carry one string.
        fail_with(err, K8S_KINDS, 5, e->tag, &e->val.denied);
    }
    vitals_check_kubernetes_error_free(e);
    return false;
}

bool vitals_k8s_get(const char *endpoint, const char *path, cJSON **object,
                    vitals_error_t *err) {
    check_string_t ep, p, body;
    check_string_set(&ep, endpoint);
    check_string_set(&p, path);
    vitals_check_kubernetes_error_t e;
    *object = NULL;
    if (!vitals_check_kubernetes_get(&ep, &p, &body, &e)) return k8s_fail(err, &e);
    cJSON *v = cJSON_ParseWithLength((const char *)body.ptr, body.len);
    check_string_free(&body);
    if (!v) return fail(err, VITALS_ERR_INVALID, 0, "GET %s: the answer is not JSON", path);
    *object = v;
    return ok(err);
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
        check_string_t body;
        vitals_check_kubernetes_error_t e;
        bool answered = vitals_check_kubernetes_list(&ep, &p, &opts, &body, &e);
        free(token);
        token = NULL;
        if (!answered) {
            cJSON_Delete(all);
            return k8s_fail(err, &e);
        }
        cJSON *page = cJSON_ParseWithLength((const char *)body.ptr, body.len);
        check_string_free(&body);
        cJSON *list = cJSON_GetObjectItemCaseSensitive(page, "items");
        if (!cJSON_IsArray(list)) {
            cJSON_Delete(page);
            cJSON_Delete(all);
            return fail(err, VITALS_ERR_INVALID, 0, "LIST %s: the answer is not a list", path);
        }
        cJSON *item;
        while ((item = cJSON_DetachItemFromArray(list, 0)) != NULL) {
            cJSON_AddItemToArray(all, item);
        }
        const char *next = vitals_json_str(cJSON_GetObjectItemCaseSensitive(page, "metadata"), "continue");
        if (*next) token = strdup(next);
        cJSON_Delete(page);
    } while (token);
    *items = all;
    return ok(err);
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
