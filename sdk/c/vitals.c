// vitals SDK for check plugins written in C: see vitals.h.
#include "vitals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

void vitals_summary(vitals_report_t *r, vitals_status_t status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *summary = vformat(fmt, ap);
    va_end(ap);
    if (r->out->summary.len) check_string_free(&r->out->summary);
    set_str(&r->out->summary, summary);
    free(summary);
    r->out->status = vitals_worse(r->out->status, status);
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

cJSON *vitals_params(const exports_vitals_check_plugin_run_input_t *input, char *error,
                     size_t error_len) {
    if (input->params.len == 0) return cJSON_CreateObject();
    cJSON *params = cJSON_ParseWithLength((const char *)input->params.ptr, input->params.len);
    if (!cJSON_IsObject(params)) {
        cJSON_Delete(params);
        snprintf(error, error_len, "invalid parameters: not a JSON object");
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

static void k8s_error_text(vitals_check_kubernetes_error_t *e, char *error, size_t len,
                           int *code) {
    static const char *kinds[] = {"denied", "unreachable", "timeout", "tls"};
    *code = 0;
    if (e->tag == VITALS_CHECK_KUBERNETES_ERROR_API) {
        *code = e->val.api.code;
        snprintf(error, len, "HTTP %u %.*s: %.*s", e->val.api.code, (int)e->val.api.reason.len,
                 (const char *)e->val.api.reason.ptr, (int)e->val.api.message.len,
                 (const char *)e->val.api.message.ptr);
    } else if (e->tag < 4) {
        // denied, unreachable, timeout and tls all carry one string.
        check_string_t *s = &e->val.denied;
        snprintf(error, len, "%s: %.*s", kinds[e->tag], (int)s->len, (const char *)s->ptr);
    } else {
        snprintf(error, len, "error %u", e->tag);
    }
    vitals_check_kubernetes_error_free(e);
}

cJSON *vitals_k8s_list(const char *endpoint, const char *path, const char *label_selector,
                       char *error, size_t error_len, int *code) {
    check_string_t ep, p;
    check_string_set(&ep, endpoint);
    check_string_set(&p, path);
    cJSON *items = cJSON_CreateArray();
    char *token = NULL;
    do {
        vitals_check_kubernetes_list_options_t opts = {0};
        if (label_selector && *label_selector) {
            opts.label_selector.is_some = true;
            check_string_set(&opts.label_selector.val, label_selector);
        }
        opts.limit.is_some = true;
        opts.limit.val = 500;
        if (token) {
            opts.continue_token.is_some = true;
            check_string_set(&opts.continue_token.val, token);
        }
        check_string_t body;
        vitals_check_kubernetes_error_t err;
        bool ok = vitals_check_kubernetes_list(&ep, &p, &opts, &body, &err);
        free(token);
        token = NULL;
        if (!ok) {
            k8s_error_text(&err, error, error_len, code);
            cJSON_Delete(items);
            return NULL;
        }
        cJSON *page = cJSON_ParseWithLength((const char *)body.ptr, body.len);
        check_string_free(&body);
        cJSON *list = cJSON_GetObjectItemCaseSensitive(page, "items");
        if (!cJSON_IsArray(list)) {
            snprintf(error, error_len, "LIST %s: the answer is not a list", path);
            *code = 0;
            cJSON_Delete(page);
            cJSON_Delete(items);
            return NULL;
        }
        cJSON *item;
        while ((item = cJSON_DetachItemFromArray(list, 0)) != NULL) {
            cJSON_AddItemToArray(items, item);
        }
        const char *next = vitals_json_str(cJSON_GetObjectItemCaseSensitive(page, "metadata"), "continue");
        if (*next) token = strdup(next);
        cJSON_Delete(page);
    } while (token);
    return items;
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
