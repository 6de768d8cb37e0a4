"""{{name}}: a vitals check plugin in Python.

GETs `path` on every URL of the granted http endpoint `endpoint`: an answer below
400 is ok; another status, or none, is critical. componentize-py looks for a class
named after the exported interface: `plugin` -> `Plugin`.
"""
import json

from wit_world import exports
from wit_world.imports.vitals_check_types import ParamSpec, PluginInfo

from vitals_sdk import (
    HttpError, NotGranted, ReportBuilder, RunInput, Status, granted_endpoint, http_get, parse_params,
)


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
            return ReportBuilder.unknown(f"plugin error: {type(e).__name__}: {e}")

    def _run(self, input: RunInput):
        p = parse_params(input)  # defaults are not filled in: .get(name, default)
        try:
            ep = granted_endpoint(input, p.get("endpoint", "service"), "http")
        except NotGranted as e:
            return ReportBuilder.unknown(e.detail)
        r = ReportBuilder()
        up = 0
        for url in ep.urls:
            try:
                # timeout in seconds; resp.body is bytes (resp.text() str, resp.json())
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
        return r.finish(f"{up}/{len(ep.urls)} URLs answered")
