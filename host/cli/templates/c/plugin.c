// {{name}}: a vitals check plugin in C. Lists the nodes of the granted kubernetes
// endpoint `endpoint`: every node Ready is ok; a node whose Ready condition is not
// True is critical.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitals.h"

void exports_vitals_check_plugin_describe(exports_vitals_check_plugin_plugin_info_t *ret) {
    // Every string returned is freed by the generated code: copy, never point.
    check_string_dup(&ret->name, "{{name}}");
    check_string_dup(&ret->version, "0.1.0");
    check_string_dup(&ret->description, "Every Kubernetes node Ready");
    ret->params.len = 1;
    ret->params.ptr = calloc(1, sizeof *ret->params.ptr);
    vitals_param(&ret->params.ptr[0], "endpoint", "string", "the kubernetes endpoint",
                 "\"kubernetes\"");
}

void exports_vitals_check_plugin_run(exports_vitals_check_plugin_run_input_t *input,
                                     exports_vitals_check_plugin_report_t *ret) {
    vitals_report_t r;
    vitals_report_init(&r, ret);
    vitals_error_t err;  // kind (vitals_err_name), code, message of a failed call
    cJSON *nodes = NULL, *params = NULL;
    vitals_endpoint_t ep = {0};
    if (!vitals_parse_params(input, &params, &err) ||
        !vitals_granted_endpoint(input, vitals_param_string(params, "endpoint", "kubernetes"),
                                 "kubernetes", &ep, &err)) {
        vitals_finish(&r, VITALS_UNKNOWN, "%s", err.message);
        goto out;
    }
    if (!vitals_k8s_list_all(ep.name, "/api/v1/nodes", NULL, NULL, &nodes, &err)) {
        vitals_finish(&r, VITALS_UNKNOWN, "cannot list nodes: %s: %s", vitals_err_name(err.kind),
                      err.message);
        goto out;
    }
    int total = 0, ready = 0;
    const cJSON *node;
    cJSON_ArrayForEach(node, nodes) {
        total++;
        const char *name = vitals_json_str(cJSON_GetObjectItemCaseSensitive(node, "metadata"), "name");
        const cJSON *c;
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(node, "status");
        bool is_ready = false;
        const char *reason = "no Ready condition";
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(status, "conditions")) {
            if (strcmp(vitals_json_str(c, "type"), "Ready")) continue;
            is_ready = !strcmp(vitals_json_str(c, "status"), "True");
            reason = vitals_json_str(c, "reason");
        }
        if (is_ready) {
            ready++;
        } else {
            vitals_finding(&r, name, VITALS_CRITICAL, "not Ready: %s", reason);
        }
    }
    vitals_sample(&r, "nodes_ready", "Nodes whose Ready condition is True", ready, NULL, NULL,
                  NULL, NULL);
    vitals_finish(&r, VITALS_OK, "%d/%d nodes Ready", ready, total);
out:
    vitals_endpoint_free(&ep);
    cJSON_Delete(nodes);
    cJSON_Delete(params);
    exports_vitals_check_plugin_run_input_free(input);
}
