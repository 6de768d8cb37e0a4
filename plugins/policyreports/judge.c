// The policyreports check's judgement, without I/O (see judge.h).
#include "judge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The string at `key` of `obj`, or "".
static const char *str(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

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

void pr_count(tallies_t *t, const cJSON *report, const cJSON *allow, bool count_warn) {
    const char *ns = str(cJSON_GetObjectItemCaseSensitive(report, "metadata"), "namespace");
    if (!*ns) ns = "(cluster)";
    const cJSON *res;
    cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(report, "results")) {
        const char *result = str(res, "result");
        bool fail = !strcmp(result, "fail") || (count_warn && !strcmp(result, "warn"));
        bool error = !strcmp(result, "error");
        const char *policy = str(res, "policy");
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
        snprintf(e->examples + len, sizeof e->examples - len, "%s%s %s/%s: %s", len ? "; " : "",
                 str(res, "rule"), str(resource, "kind"), str(resource, "name"), str(res, "message"));
    }
}

static int by_worst(const void *a, const void *b) {
    const tally_t *x = a, *y = b;
    if (x->fail != y->fail) return y->fail - x->fail;
    return strcmp(x->key, y->key);
}

void pr_sort(tallies_t *t) {
    if (t->len) qsort(t->items, t->len, sizeof *t->items, by_worst);
}

int pr_status(const tally_t *e, int warning_at, int critical_at) {
    if (critical_at > 0 && e->fail >= critical_at) return 2;
    if ((warning_at > 0 && e->fail >= warning_at) || e->error > 0) return 1;
    return 0;
}

void pr_free(tallies_t *t) {
    free(t->items);
    t->items = NULL;
    t->len = t->cap = 0;
}
