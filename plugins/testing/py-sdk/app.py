"""test_py_sdk: exercises the Python SDK's Kubernetes helpers for the tests
(tests/python_sdk.rs). Lists nodes every page at a time, reads a ConfigMap, and
reports what a missing object and an ungranted resource raise."""
import json

from wit_world import exports
from wit_world.imports.vitals_check_types import PluginInfo

from vitals_sdk import CapabilityError, ReportBuilder, RunInput, Status, k8s_get, k8s_list


class Plugin(exports.Plugin):
    def describe(self) -> PluginInfo:
        return PluginInfo(name="test_py_sdk", version="0.1.0",
                          description="test plugin: the Python SDK's Kubernetes helpers", params=[])

    def run(self, input: RunInput):
        r = ReportBuilder()
        nodes = k8s_list("kubernetes", "/api/v1/nodes", page=2)
        r.finding("nodes", Status.OK, " ".join(sorted(n["metadata"]["name"] for n in nodes)))
        cm = k8s_get("kubernetes", "/api/v1/namespaces/kube-system/configmaps/cilium-config")
        r.finding("cilium-config", Status.OK, json.dumps(cm["data"].get("enable-l2-announcements")))
        for subject, path in [("missing", "/api/v1/namespaces/kube-system/configmaps/nope"),
                              ("ungranted", "/api/v1/namespaces/kube-system/secrets/token")]:
            try:
                k8s_get("kubernetes", path)
                r.finding(subject, Status.CRITICAL, "no error")
            except CapabilityError as e:
                r.note(subject, Status.UNKNOWN, f"{e.kind} {e.code}: {e}")
        return r.build(f"{len(nodes)} nodes")
