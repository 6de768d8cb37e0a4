"""{{name}}: a vitals check plugin in Python.

GETs `path` on every URL of the granted http endpoint `endpoint`: an answer below
400 is ok; another status, or none, is critical. componentize-py looks for a class
named after the exported interface: `plugin` -> `Plugin`.
"""
import json

from wit_world import exports
from wit_world.imports.vitals_check_types import ParamSpec, PluginInfo

from vitals_sdk import HttpError, ReportBuilder, RunInput, Status, find_endpoint, http_get, params


class Plugin(exports.Plugin):
    def describe(self) -> PluginInfo:
        return PluginInfo(
            name="{{name}}",
            version="0.1.0",
            description="GET `path` on every URL of an http endpoint",
            params=[
                ParamSpec(name="endpoint", kind="string", description="the http endpoint to probe",
                          default_value=json.dumps("service"), required=False),
                ParamSpec(name="path", kind="string", description="the path to GET",
                          default_value=json.dumps("/healthz"), required=False),
            ],
        )

    def run(self, input: RunInput):
        try:
            return self._run(input)
        except Exception as e:  # never trap: report unknown instead
            return ReportBuilder().build(f"plugin error: {type(e).__name__}: {e}", Status.UNKNOWN)

    def _run(self, input: RunInput):
        p = params(input)
        name = p.get("endpoint", "service")
        ep = find_endpoint(input, name, "http")
        if ep is None:
            return ReportBuilder().build(f"no endpoint {name!r} granted to this check", Status.UNKNOWN)
        r = ReportBuilder()
        up = 0
        for url in ep.urls:
            try:
                resp = http_get(url.rstrip("/") + p.get("path", "/healthz"), timeout=5)
            except HttpError as e:
                r.finding(url, Status.CRITICAL, f"unreachable: {e}")
                continue
            if resp.status < 400:
                up += 1
                r.finding(url, Status.OK, f"HTTP {resp.status}")
            else:
                r.finding(url, Status.CRITICAL, f"HTTP {resp.status}")
        r.sample("up", "URLs that answered below 400", up)
        return r.build(f"{up}/{len(ep.urls)} URLs answered")
