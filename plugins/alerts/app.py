"""alerts: the alerts a Prometheus is firing, as the daily check "Prometheus alerts"
reads them off its alerts page.

A vitals check plugin in Python, built with componentize-py (scripts/build-plugins).
Every URL of the granted `http` endpoint is one Prometheus server (an HA pair
evaluates the same rules: each alert is reported once). Each is asked for
`/api/v1/alerts`, all at once; `assess.py` judges the answers.
"""
import json

from wit_world import exports
from wit_world.imports.vitals_check_types import ParamSpec, PluginInfo

from assess import Answer, DEFAULTS, assess
from vitals_sdk import (
    HttpError, NotGranted, ReportBuilder, RunInput, Status, granted_endpoint, http_get_all,
    parse_params,
)

VERSION = "0.1.0"
STATUS = {"ok": Status.OK, "warning": Status.WARNING, "critical": Status.CRITICAL,
          "unknown": Status.UNKNOWN}


def _param(name, kind, description, default):
    return ParamSpec(name=name, kind=kind, description=description,
                     default_value=json.dumps(default), required=False)


class Plugin(exports.Plugin):
    def describe(self) -> PluginInfo:
        return PluginInfo(
            name="alerts",
            version=VERSION,
            description="Prometheus alerts firing: a finding per alert with its summary, "
                        "the status from its severity label, an ignore list (Watchdog)",
            params=[
                _param("endpoint", "string", "the http endpoint whose URLs are the Prometheus servers",
                       "prometheus"),
                _param("ignore", "list<string>", "alert names never reported (the always-firing Watchdog, ...)",
                       DEFAULTS["ignore"]),
                _param("severities", "table", "severity label value -> status (ok, warning, critical, unknown); "
                       "added to the defaults", DEFAULTS["severities"]),
                _param("default_status", "string", "status of an alert whose severity is not in `severities`, "
                       "or that has none", DEFAULTS["default_status"]),
                _param("include_pending", "boolean", "also report alerts still pending (their `for` not yet passed)",
                       DEFAULTS["include_pending"]),
                _param("timeout_seconds", "number", "connect and first-byte timeout of each request", 5),
            ],
        )

    def run(self, input: RunInput):
        try:
            return self._run(input)
        except Exception as e:  # never trap: an unexpected answer is unknown
            return ReportBuilder.unknown(f"plugin error: {type(e).__name__}: {e}")

    def _run(self, input: RunInput):
        p = parse_params(input)
        name = p.get("endpoint", "prometheus")
        try:
            ep = granted_endpoint(input, name, "http")
        except NotGranted as e:
            return ReportBuilder.unknown(e.detail)
        if not ep.urls:
            return ReportBuilder.unknown(f"endpoint {name!r} has no URLs")
        urls = [u.rstrip("/") for u in ep.urls]
        answers = http_get_all([u + "/api/v1/alerts" for u in urls],
                               timeout=float(p.get("timeout_seconds", 5)))
        try:
            j = assess([_answer(u, a) for u, a in zip(urls, answers)], p)
        except ValueError as e:
            return ReportBuilder.unknown(f"invalid parameters: {e}")
        r = ReportBuilder()
        for subject, status, message in j.findings:
            r.finding(subject, STATUS[status], message)
        for subject, status, message in j.notes:
            r.note(subject, STATUS[status], message)
        for sample, help_, value, labels in j.samples:
            r.sample(sample, help_, value, **labels)
        return r.finish(j.summary, STATUS[j.status])


def _answer(url: str, response) -> Answer:
    """One server's answer to GET /api/v1/alerts, read."""
    if isinstance(response, HttpError):
        return Answer(url, error=str(response), unreachable=response.unreachable)
    if response.status != 200:
        return Answer(url, error=f"HTTP {response.status}: {response.text()[:200]}")
    try:
        body = json.loads(response.body)
        return Answer(url, alerts=list(body["data"]["alerts"]))
    except (ValueError, KeyError, TypeError) as e:
        return Answer(url, error=f"not a Prometheus alerts answer: {e}")
