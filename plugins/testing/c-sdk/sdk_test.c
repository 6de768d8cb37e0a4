// test_c_sdk: exercises the C SDK for tests/sdk_helpers.rs.
//
// The steps of the Rust reference plugin (plugins/testing/rust-sdk), with the
// same findings: report verbs, vitals_granted_endpoint, Redis, SQL, net, DNS,
// Kubernetes and log. Endpoints: `redis` (its first URL a server, its second a
// closed port), `db` (mysql), `kubernetes`, `dns` (when granted: a resolver for
// cluster.local). Each step is one finding: ok with
// what the helper returned, or a note (unknown) with the error as `kind: message`.
// With `fanout` (URLs), it only fetches them all at once (vitals_http_get_all): one
// finding per URL, in order, `HTTP <status>: <body>` or critical `kind: message`.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitals.h"

void exports_vitals_check_plugin_describe(exports_vitals_check_plugin_plugin_info_t *ret) {
    check_string_dup(&ret->name, "test_c_sdk");
    check_string_dup(&ret->version, "0.1.0");
    check_string_dup(&ret->description, "test plugin: the C SDK's helpers");
    static const char *params[][3] = {
        {"tcp_open", "string", "an address that accepts TCP"},
        {"tcp_closed", "string", "an address that refuses TCP"},
        {"tcp_denied", "string", "an address not granted"},
        {"arp", "list<string>", "addresses to ARP-probe"},
        {"fanout", "list<string>", "only fetch these URLs, all at once"},
    };
    size_t n = sizeof params / sizeof *params;
    ret->params.len = n;
    ret->params.ptr = calloc(n, sizeof *ret->params.ptr);
    for (size_t i = 0; i < n; i++) {
        vitals_param(&ret->params.ptr[i], params[i][0], params[i][1], params[i][2], NULL);
        ret->params.ptr[i].required = false;  // optional, without a default
    }
}

// One step's outcome: `ok` with `text` (taken: freed here), else a note with the error.
static void step(vitals_report_t *r, const char *subject, bool ok, char *text,
                 const vitals_error_t *err) {
    if (ok) {
        vitals_finding(r, subject, VITALS_OK, "%s", text ? text : "");
    } else {
        vitals_note(r, subject, VITALS_UNKNOWN, "%s: %s", vitals_err_name(err->kind), err->message);
    }
    free(text);
}

// `RCODE TYPE data...` of a DNS answer (malloc'd): `NOERROR A 10.43.0.1`, `NXDOMAIN`.
static char *answer_text(const cJSON *answer) {
    char *text = calloc(1024, 1);
    if (!text) abort();
    snprintf(text, 1024, "%s", vitals_json_str(answer, "rcode"));
    const cJSON *rec;
    cJSON_ArrayForEach(rec, cJSON_GetObjectItemCaseSensitive(answer, "records")) {
        size_t len = strlen(text);
        snprintf(text + len, 1024 - len, " %s %s", vitals_json_str(rec, "type"),
                 vitals_json_str(rec, "data"));
    }
    return text;
}

static void dns_step(vitals_report_t *r, const char *subject, const char *url, const char *name,
                     const char *type) {
    cJSON *answer;
    vitals_error_t err;
    bool ok = vitals_dns_query("dns", url, name, type, &answer, &err);
    step(r, subject, ok, ok ? answer_text(answer) : NULL, &err);
    cJSON_Delete(answer);
}

static int by_string(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// The strings of a cJSON array (or of `key` in each of its objects), sorted, joined
// by spaces: malloc'd.
static char *sorted_join(char **items, size_t n) {
    qsort(items, n, sizeof *items, by_string);
    size_t len = 1;
    for (size_t i = 0; i < n; i++) len += strlen(items[i]) + 1;
    char *out = calloc(len, 1);
    for (size_t i = 0; i < n; i++) {
        if (i) strcat(out, " ");
        strcat(out, items[i]);
    }
    return out;
}

static char *print(const cJSON *v) {
    return cJSON_PrintUnformatted(v);
}

// `columns a,b; rows 1|NULL;...`
static char *rows_text(const cJSON *rows) {
    size_t cap = 4096;
    char *out = calloc(cap, 1);
    strcat(out, "columns ");
    const cJSON *c;
    int i = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(rows, "columns")) {
        if (i++) strcat(out, ",");
        strncat(out, c->valuestring, cap - strlen(out) - 1);
    }
    strcat(out, "; rows ");
    const cJSON *row;
    int j = 0;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(rows, "rows")) {
        if (j++) strncat(out, ";", cap - strlen(out) - 1);
        const cJSON *v;
        int k = 0;
        cJSON_ArrayForEach(v, row) {
            if (k++) strncat(out, "|", cap - strlen(out) - 1);
            strncat(out, cJSON_IsString(v) ? v->valuestring : "NULL", cap - strlen(out) - 1);
        }
    }
    return out;
}

static char *format(const char *fmt, const char *a, const char *b) {
    size_t n = strlen(fmt) + strlen(a) + (b ? strlen(b) : 0) + 1;
    char *out = malloc(n);
    snprintf(out, n, fmt, a, b);
    return out;
}

static void redis_json(vitals_report_t *r, const char *subject, const vitals_endpoint_t *ep,
                       const char *url, const char *const *args) {
    cJSON *reply;
    vitals_error_t err;
    bool ok = vitals_redis_command(ep->name, url, args, &reply, &err);
    step(r, subject, ok, ok ? print(reply) : NULL, &err);
    cJSON_Delete(reply);
}

static void sql_rows(vitals_report_t *r, const char *subject, const vitals_endpoint_t *db,
                     const char *statement) {
    cJSON *rows;
    vitals_error_t err;
    bool ok = vitals_sql_query(db->name, db->urls[0], statement, &rows, &err);
    step(r, subject, ok, ok ? rows_text(rows) : NULL, &err);
    cJSON_Delete(rows);
}

static void tcp(vitals_report_t *r, const char *subject, const char *address) {
    if (!*address) return;
    double seconds;
    vitals_error_t err;
    bool ok = vitals_tcp_connect(address, &seconds, &err);
    char *text = NULL;
    if (ok) {
        vitals_sample(r, "tcp_connect_seconds", "Seconds a TCP connect took", seconds, "address",
                      address, NULL, NULL);
        text = malloc(64);
        if (seconds >= 0 && seconds < 5) {
            snprintf(text, 64, "connected");
        } else {
            snprintf(text, 64, "odd seconds: %g", seconds);
        }
    }
    step(r, subject, ok, text, &err);
}

static void arp(vitals_report_t *r, const char *address) {
    vitals_arp_reply_t *replies;
    size_t count;
    vitals_error_t err;
    bool ok = vitals_arp_probe(address, &replies, &count, &err);
    char *text = NULL;
    if (ok) {
        char **macs = calloc(count + 1, sizeof *macs);
        bool odd = false;
        for (size_t i = 0; i < count; i++) {
            macs[i] = replies[i].mac;
            odd |= replies[i].seconds < 0;
        }
        char *joined = sorted_join(macs, count);
        text = malloc(strlen(joined) + 32);
        if (odd) {
            sprintf(text, "odd seconds");
        } else {
            sprintf(text, "%zu replies: %s", count, joined);
        }
        free(joined);
        free(macs);
        free(replies);
    }
    char subject[128];
    snprintf(subject, sizeof subject, "arp %s", address);
    step(r, subject, ok, text, &err);
}

// GET every URL of `urls` at once: one finding each, in order.
static void fanout(vitals_report_t *r, const cJSON *urls) {
    size_t n = (size_t)cJSON_GetArraySize(urls), i = 0;
    vitals_http_call_t *calls = calloc(n ? n : 1, sizeof *calls);
    if (!calls) abort();
    const cJSON *url;
    cJSON_ArrayForEach(url, urls) {
        calls[i].url = cJSON_IsString(url) ? url->valuestring : NULL;  // NULL: an `invalid` answer
        calls[i++].timeout_ms = 30000;
    }
    vitals_http_get_all(calls, n);
    for (i = 0; i < n; i++) {
        const char *subject = calls[i].url ? calls[i].url : "";
        if (calls[i].ok) {
            vitals_finding(r, subject, VITALS_OK, "HTTP %u: %s", (unsigned)calls[i].status,
                           calls[i].body);
        } else {
            vitals_finding(r, subject, VITALS_CRITICAL, "%s: %s",
                           vitals_err_name(calls[i].err.kind), calls[i].err.message);
        }
        vitals_http_call_free(&calls[i]);
    }
    free(calls);
    vitals_finish(r, VITALS_OK, "%zu fetched", n);
}

void exports_vitals_check_plugin_run(exports_vitals_check_plugin_run_input_t *input,
                                     exports_vitals_check_plugin_report_t *ret) {
    vitals_report_t r;
    vitals_report_init(&r, ret);
    vitals_error_t err;
    cJSON *params = NULL;
    vitals_endpoint_t ep = {0}, db = {0}, nope = {0};
    if (!vitals_parse_params(input, &params, &err)) {
        vitals_finish(&r, VITALS_UNKNOWN, "%s", err.message);
        goto out;
    }
    const cJSON *urls = cJSON_GetObjectItemCaseSensitive(params, "fanout");
    if (cJSON_IsArray(urls)) {
        fanout(&r, urls);
        goto out;
    }
    vitals_log(VITALS_LOG_INFO, "sdk test: %s", "start");

    // Endpoints.
    if (!vitals_granted_endpoint(input, "redis", "redis", &ep, &err)) {
        vitals_finish(&r, VITALS_UNKNOWN, "%s", err.message);
        goto out;
    }
    {
        size_t len = strlen(ep.name) + strlen(ep.kind) + 3;
        for (size_t i = 0; i < ep.url_count; i++) len += strlen(ep.urls[i]) + 1;
        char *text = calloc(len, 1);
        sprintf(text, "%s %s", ep.name, ep.kind);
        for (size_t i = 0; i < ep.url_count; i++) {
            strcat(text, " ");
            strcat(text, ep.urls[i]);
        }
        step(&r, "endpoint redis", true, text, &err);
    }
    bool found = vitals_granted_endpoint(input, "nope", "redis", &nope, &err);
    step(&r, "endpoint nope", found, found ? strdup(nope.name) : NULL, &err);

    // Redis.
    const char *url = ep.urls[0];
    redis_json(&r, "redis PING", &ep, url, (const char *[]){"PING", NULL});
    redis_json(&r, "redis ECHO", &ep, url, (const char *[]){"ECHO", "vitals sdk", NULL});
    redis_json(&r, "redis DBSIZE", &ep, url, (const char *[]){"DBSIZE", NULL});
    redis_json(&r, "redis ROLE", &ep, url, (const char *[]){"ROLE", NULL});
    {
        cJSON *reply;
        bool ok = vitals_redis_command(ep.name, url, (const char *[]){"INFO", "server", NULL},
                                       &reply, &err);
        char *text = NULL;
        if (ok) {
            cJSON *info = vitals_parse_info(cJSON_IsString(reply) ? reply->valuestring : "");
            text = format("redis_mode=%s", vitals_json_str(info, "redis_mode"), NULL);
            cJSON_Delete(info);
        }
        step(&r, "redis INFO", ok, text, &err);
        cJSON_Delete(reply);
    }
    {
        cJSON *list = cJSON_Parse("[\"a\", \"1\", \"b\", \"2\", \"c\"]");
        cJSON *fields = vitals_parse_fields(list);
        char *pairs[16];
        size_t n = 0;
        const cJSON *f;
        cJSON_ArrayForEach(f, fields) {
            if (n < 16) pairs[n++] = format("%s=%s", f->string, f->valuestring);
        }
        step(&r, "redis fields", true, sorted_join(pairs, n), &err);
        for (size_t i = 0; i < n; i++) free(pairs[i]);
        cJSON_Delete(fields);
        cJSON_Delete(list);
    }
    redis_json(&r, "redis SET", &ep, url, (const char *[]){"SET", "k", "v", NULL});
    redis_json(&r, "redis SENTINEL", &ep, url, (const char *[]){"SENTINEL", "MASTERS", NULL});
    redis_json(&r, "redis down", &ep, ep.urls[1], (const char *[]){"PING", NULL});
    {
        // All at once: each reply as JSON, each error by its kind.
        vitals_redis_call_t calls[] = {
            {.endpoint = ep.name, .url = url, .args = (const char *[]){"PING", NULL}},
            {.endpoint = ep.name, .url = url, .args = (const char *[]){"ECHO", "together", NULL}},
            {.endpoint = ep.name, .url = ep.urls[1], .args = (const char *[]){"PING", NULL}},
            {.endpoint = ep.name, .url = url, .args = (const char *[]){"SET", "k", "v", NULL}},
        };
        size_t n = sizeof calls / sizeof *calls;
        vitals_redis_command_all(calls, n);
        char *text = calloc(1024, 1);
        for (size_t i = 0; i < n; i++) {
            char *item = calls[i].ok ? print(calls[i].reply) : strdup(vitals_err_name(calls[i].err.kind));
            size_t len = strlen(text);
            snprintf(text + len, 1024 - len, "%s%s", i ? " " : "", item);
            free(item);
            cJSON_Delete(calls[i].reply);
        }
        step(&r, "redis all", true, text, NULL);
    }

    // SQL.
    if (!vitals_granted_endpoint(input, "db", "mysql", &db, &err)) {
        vitals_finish(&r, VITALS_UNKNOWN, "%s", err.message);
        goto out;
    }
    const char *select = "SELECT 1 AS one, NULL AS nothing, 'x' AS letter";
    sql_rows(&r, "sql SELECT", &db, select);
    {
        cJSON *rows;
        bool ok = vitals_sql_query(db.name, db.urls[0], select, &rows, &err);
        char *text = NULL;
        if (ok) {
            cJSON *records = vitals_sql_records(rows);
            cJSON *first = cJSON_GetArrayItem(records, 0);
            text = calloc(1024, 1);
            const cJSON *c;
            int i = 0;
            cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(rows, "columns")) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(first, c->valuestring);
                size_t len = strlen(text);
                snprintf(text + len, 1024 - len, "%s%s=%s", i++ ? " " : "", c->valuestring,
                         cJSON_IsString(v) ? v->valuestring : "NULL");
            }
            cJSON_Delete(records);
        }
        step(&r, "sql records", ok, text, &err);
        cJSON_Delete(rows);
    }
    {
        cJSON *rows;
        bool ok = vitals_sql_query(db.name, db.urls[0], "SHOW VARIABLES LIKE 'port'", &rows, &err);
        char *text = NULL;
        if (ok) {
            cJSON *vars = vitals_sql_name_values(rows);
            text = format("port=%s", vitals_json_str(vars, "port"), NULL);
            cJSON_Delete(vars);
        }
        step(&r, "sql SHOW", ok, text, &err);
        cJSON_Delete(rows);
    }
    sql_rows(&r, "sql DELETE", &db, "DELETE FROM mysql.user");
    sql_rows(&r, "sql missing", &db, "SELECT * FROM mysql.no_such_table");
    {
        // All at once: each result's first value, each error by its kind.
        vitals_sql_call_t calls[] = {
            {.endpoint = db.name, .url = db.urls[0], .statement = "SELECT 1 AS one"},
            {.endpoint = db.name, .url = db.urls[0], .statement = "SELECT 'x' AS letter"},
            {.endpoint = db.name, .url = db.urls[0], .statement = "DELETE FROM mysql.user"},
        };
        size_t n = sizeof calls / sizeof *calls;
        vitals_sql_query_all(calls, n);
        char *text = calloc(1024, 1);
        for (size_t i = 0; i < n; i++) {
            const cJSON *rows = cJSON_GetObjectItemCaseSensitive(calls[i].rows, "rows");
            const cJSON *first = cJSON_GetArrayItem(cJSON_GetArrayItem(rows, 0), 0);
            const char *item = !calls[i].ok ? vitals_err_name(calls[i].err.kind)
                               : cJSON_IsString(first) ? first->valuestring : "NULL";
            size_t len = strlen(text);
            snprintf(text + len, 1024 - len, "%s%s", i ? " " : "", item);
            cJSON_Delete(calls[i].rows);
        }
        step(&r, "sql all", true, text, NULL);
    }

    // Net.
    tcp(&r, "tcp open", vitals_param_string(params, "tcp_open", ""));
    tcp(&r, "tcp closed", vitals_param_string(params, "tcp_closed", ""));
    tcp(&r, "tcp denied", vitals_param_string(params, "tcp_denied", ""));
    const cJSON *address;
    cJSON_ArrayForEach(address, cJSON_GetObjectItemCaseSensitive(params, "arp")) {
        if (cJSON_IsString(address)) arp(&r, address->valuestring);
    }
    {
        // All at once: each outcome by a word (TCP) or its number of replies (ARP).
        const char *keys[] = {"tcp_open", "tcp_closed", "tcp_denied"};
        vitals_probe_t probes[16];
        size_t n = 0;
        for (size_t i = 0; i < 3; i++) {
            const char *a = vitals_param_string(params, keys[i], "");
            if (*a) probes[n++] = (vitals_probe_t){.address = a};
        }
        if (n) {
            vitals_tcp_connect_all(probes, n);
            char *text = calloc(256, 1);
            for (size_t i = 0; i < n; i++) {
                size_t len = strlen(text);
                snprintf(text + len, 256 - len, "%s%s", i ? " " : "",
                         probes[i].ok ? "connected" : vitals_err_name(probes[i].err.kind));
            }
            step(&r, "tcp all", true, text, NULL);
        }
        n = 0;
        cJSON_ArrayForEach(address, cJSON_GetObjectItemCaseSensitive(params, "arp")) {
            if (cJSON_IsString(address) && n < 16) {
                probes[n++] = (vitals_probe_t){.address = address->valuestring};
            }
        }
        if (n) {
            vitals_arp_probe_all(probes, n);
            char *text = calloc(256, 1);
            for (size_t i = 0; i < n; i++) {
                char count[24];
                snprintf(count, sizeof count, "%zu", probes[i].count);
                size_t len = strlen(text);
                snprintf(text + len, 256 - len, "%s%s", i ? " " : "",
                         probes[i].ok ? count : vitals_err_name(probes[i].err.kind));
                free(probes[i].replies);
            }
            step(&r, "arp all", true, text, NULL);
        }
    }

    // DNS, when a `dns` endpoint is granted: its first URL a resolver for cluster.local.
    vitals_endpoint_t resolver = {0};
    if (vitals_granted_endpoint(input, "dns", "dns", &resolver, &err) && resolver.url_count > 1) {
        const char *url = resolver.urls[0];
        const char *api = "kubernetes.default.svc.cluster.local";
        dns_step(&r, "dns A", url, api, "A");
        dns_step(&r, "dns SRV", url, "_https._tcp.kubernetes.default.svc.cluster.local", "SRV");
        dns_step(&r, "dns NXDOMAIN", url, "nope.cluster.local", "A");
        dns_step(&r, "dns denied", "dns://10.9.9.9", api, "A");
        const char *silent = resolver.urls[1];
        dns_step(&r, "dns silent", silent, api, "A");
        vitals_dns_call_t calls[] = {
            {.endpoint = "dns", .url = url, .name = api, .type = "A"},
            {.endpoint = "dns", .url = url, .name = "nope.cluster.local", .type = "A"},
            {.endpoint = "dns", .url = "dns://10.9.9.9", .name = api, .type = "A"},
            {.endpoint = "dns", .url = silent, .name = api, .type = "A"},
        };
        size_t n = sizeof calls / sizeof *calls;
        vitals_dns_query_all(calls, n);
        char *text = calloc(1024, 1);
        if (!text) abort();
        for (size_t i = 0; i < n; i++) {
            char *item = calls[i].ok ? answer_text(calls[i].answer)
                                     : strdup(vitals_err_name(calls[i].err.kind));
            size_t len = strlen(text);
            snprintf(text + len, 1024 - len, "%s%s", i ? "; " : "", item);
            free(item);
            cJSON_Delete(calls[i].answer);
        }
        step(&r, "dns all", true, text, NULL);
    }
    vitals_endpoint_free(&resolver);

    // Kubernetes.
    {
        cJSON *cm;
        bool ok = vitals_k8s_get("kubernetes",
                                 "/api/v1/namespaces/kube-system/configmaps/cilium-config", &cm,
                                 &err);
        char *text = NULL;
        if (ok) {
            text = format("enable-l2-announcements=%s",
                          vitals_json_str(cJSON_GetObjectItemCaseSensitive(cm, "data"),
                                          "enable-l2-announcements"),
                          NULL);
        }
        step(&r, "k8s get", ok, text, &err);
        cJSON_Delete(cm);
    }
    {
        cJSON *nodes;
        bool ok = vitals_k8s_list_all("kubernetes", "/api/v1/nodes", NULL, NULL, &nodes, &err);
        char *text = NULL;
        if (ok) {
            size_t n = 0;
            char **names = calloc((size_t)cJSON_GetArraySize(nodes) + 1, sizeof *names);
            const cJSON *node;
            cJSON_ArrayForEach(node, nodes) {
                names[n++] = (char *)vitals_json_str(
                    cJSON_GetObjectItemCaseSensitive(node, "metadata"), "name");
            }
            text = sorted_join(names, n);
            free(names);
        }
        step(&r, "k8s list", ok, text, &err);
        cJSON_Delete(nodes);
    }
    {
        cJSON *secret;
        bool ok = vitals_k8s_get("kubernetes", "/api/v1/namespaces/kube-system/secrets/token",
                                 &secret, &err);
        step(&r, "k8s secret", ok, ok ? print(secret) : NULL, &err);
        cJSON_Delete(secret);
    }
    {
        cJSON *missing;
        if (vitals_k8s_get("kubernetes", "/api/v1/namespaces/kube-system/configmaps/nope",
                           &missing, &err)) {
            vitals_finding(&r, "k8s missing", VITALS_OK, "found");
        } else {
            vitals_note(&r, "k8s missing", VITALS_UNKNOWN, "%s %d: %s", vitals_err_name(err.kind),
                        err.code, err.message);
        }
        cJSON_Delete(missing);
    }
    {
        // Reads at once: each answer in order, an object by its name, a list by its
        // items' names, an error by its kind (and code).
        vitals_k8s_call_t calls[] = {
            {.endpoint = "kubernetes",
             .path = "/api/v1/namespaces/kube-system/configmaps/cilium-config"},
            {.endpoint = "kubernetes", .path = "/api/v1/namespaces/kube-system/secrets/token"},
            {.endpoint = "kubernetes", .path = "/api/v1/namespaces/kube-system/configmaps/nope"},
            {.endpoint = "kubernetes", .path = "/api/v1/nodes", .list = true},
            {.endpoint = "kubernetes", .path = "/api/v1/pods", .list = true},
        };
        size_t n = sizeof calls / sizeof *calls;
        vitals_k8s_batch(calls, n);
        char *items[sizeof calls / sizeof *calls];
        size_t len = 32;
        for (size_t i = 0; i < n; i++) {
            const vitals_k8s_call_t *c = &calls[i];
            if (!c->ok) {
                char word[64];
                if (c->err.kind == VITALS_ERR_API) {
                    snprintf(word, sizeof word, "api %d", c->err.code);
                } else {
                    snprintf(word, sizeof word, "%s", vitals_err_name(c->err.kind));
                }
                items[i] = strdup(word);
            } else if (!c->list) {
                items[i] = strdup(
                    vitals_json_str(cJSON_GetObjectItemCaseSensitive(c->answer, "metadata"), "name"));
            } else {
                size_t m = 0;
                char **names = calloc((size_t)cJSON_GetArraySize(c->answer) + 1, sizeof *names);
                if (!names) abort();
                const cJSON *item;
                cJSON_ArrayForEach(item, c->answer) {
                    names[m++] = (char *)vitals_json_str(
                        cJSON_GetObjectItemCaseSensitive(item, "metadata"), "name");
                }
                items[i] = sorted_join(names, m);
                free(names);
            }
            if (!items[i]) abort();
            len += strlen(items[i]) + 2;
        }
        char *text = calloc(len, 1);
        if (!text) abort();
        strcat(text, "get: ");
        for (size_t i = 0; i < n; i++) {
            if (i == 3) {
                strcat(text, "; list: ");
            } else if (i) {
                strcat(text, ", ");
            }
            strcat(text, items[i]);
            free(items[i]);
            vitals_k8s_call_free(&calls[i]);
        }
        step(&r, "k8s batch", true, text, NULL);
    }

    vitals_raise(&r, VITALS_OK);  // the errors above are notes: the status stays ok
    vitals_log(VITALS_LOG_INFO, "sdk test: %s", "done");
    vitals_finish(&r, VITALS_OK, "%zu steps", ret->findings.len);
out:
    vitals_endpoint_free(&ep);
    vitals_endpoint_free(&db);
    vitals_endpoint_free(&nope);
    cJSON_Delete(params);
    exports_vitals_check_plugin_run_input_free(input);
}
