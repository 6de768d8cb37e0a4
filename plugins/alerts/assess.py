"""The alerts check's judgement, without I/O (unit-tested natively by test_assess.py).

`assess(answers, params)` takes what each Prometheus server answered to
`GET /api/v1/alerts` and returns the findings, samples and summary.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

SEVERITY = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}

DEFAULTS = {
    "ignore": ["Watchdog", "InfoInhibitor"],
    "severities": {"critical": "critical", "warning": "warning", "info": "ok", "none": "ok"},
    "default_status": "warning",
    "include_pending": False,
}


@dataclass
class Answer:
    """One server's answer: its URL and its alerts, or why there are none
    (`error`; `unreachable` when the server is down rather than unusable)."""
    url: str
    alerts: Optional[List[dict]] = None
    error: Optional[str] = None
    unreachable: bool = False


@dataclass
class Judgement:
    status: str
    summary: str
    findings: List[Tuple[str, str, str]] = field(default_factory=list)  # subject, status, message
    notes: List[Tuple[str, str, str]] = field(default_factory=list)
    samples: List[Tuple[str, str, float, Dict[str, str]]] = field(default_factory=list)


def worse(a: str, b: str) -> str:
    return a if SEVERITY[a] >= SEVERITY[b] else b


def params_with_defaults(p: dict) -> dict:
    out = dict(DEFAULTS)
    out.update({k: v for k, v in p.items() if k in DEFAULTS})
    severities = dict(DEFAULTS["severities"])
    severities.update(p.get("severities") or {})
    out["severities"] = severities
    for name, status in list(severities.items()) + [("default_status", out["default_status"])]:
        if status not in SEVERITY:
            raise ValueError(f"severity {name!r}: status {status!r} is not one of ok, warning, critical, unknown")
    return out


def subject(alert: dict) -> str:
    """`Name{label="value",...}` without severity: what an operator searches for."""
    labels = dict(alert.get("labels") or {})
    name = labels.pop("alertname", "?")
    labels.pop("severity", None)
    if not labels:
        return name
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def message(alert: dict) -> str:
    annotations = alert.get("annotations") or {}
    text = annotations.get("summary") or annotations.get("description") or annotations.get("message")
    severity = (alert.get("labels") or {}).get("severity", "none")
    state = alert.get("state", "firing")
    since = alert.get("activeAt", "")
    head = f"{state} ({severity}) since {since}" if since else f"{state} ({severity})"
    return f"{head}: {text}" if text else head


def assess(answers: List[Answer], p: dict) -> Judgement:
    p = params_with_defaults(p)
    answered = [a for a in answers if a.alerts is not None]
    notes = []
    for a in answers:
        if a.alerts is None:
            notes.append((a.url, "warning" if answered else "critical", a.error or "no answer"))
    if not answered:
        if all(a.unreachable for a in answers):
            urls = ", ".join(a.url for a in answers)
            j = Judgement("critical", f"no Prometheus reachable ({urls}): alerts cannot be seen")
        else:
            j = Judgement("unknown", f"no Prometheus could be read: {answers[0].error if answers else 'no URL'}")
        j.findings = [(u, s if j.status == "critical" else "unknown", m) for u, s, m in notes]
        return j

    # One alert per label set: HA Prometheus pairs evaluate the same rules.
    states = ("firing", "pending") if p["include_pending"] else ("firing",)
    seen: Dict[Tuple, dict] = {}
    for a in answered:
        for alert in a.alerts:
            if alert.get("state") in states:
                key = tuple(sorted((alert.get("labels") or {}).items()))
                seen.setdefault(key, alert)
    ignored = [al for al in seen.values() if (al.get("labels") or {}).get("alertname") in p["ignore"]]
    counted = [al for al in seen.values() if al not in ignored]

    j = Judgement("ok", "")
    by_severity: Dict[str, int] = {}
    for alert in sorted(counted, key=lambda al: (-SEVERITY[status_of(al, p)], subject(al))):
        status = status_of(alert, p)
        severity = (alert.get("labels") or {}).get("severity", "none")
        by_severity[severity] = by_severity.get(severity, 0) + 1
        j.findings.append((subject(alert), status, message(alert)))
        j.status = worse(j.status, status)
    for url, status, text in notes:
        j.findings.append((url, status, f"not read: {text}"))
        j.status = worse(j.status, status)
    if ignored:
        names = sorted({(al.get("labels") or {}).get("alertname", "?") for al in ignored})
        j.notes.append(("ignored", "ok", f"{len(ignored)} firing, ignored by name: {', '.join(names)}"))

    for severity, n in sorted(by_severity.items()):
        j.samples.append(("firing", "Alerts firing (not ignored), by their severity label", n, {"severity": severity}))
    j.samples.append(("ignored", "Alerts firing that the check ignores by name", len(ignored), {}))
    j.samples.append(("servers_answered", "Prometheus servers that answered", len(answered), {}))

    if counted:
        parts = [f"{n} {sev}" for sev, n in sorted(by_severity.items(), key=lambda kv: -SEVERITY[severity_status(kv[0], p)])]
        worst = j.findings[0]
        j.summary = f"{len(counted)} alert{'s' if len(counted) != 1 else ''} firing ({', '.join(parts)}); worst: {worst[0]}"
    else:
        j.summary = "no alerts firing" + (f" ({len(ignored)} ignored)" if ignored else "")
    if notes:
        j.summary += f"; not read: {', '.join(u for u, _, _ in notes)}"
    return j


def status_of(alert: dict, p: dict) -> str:
    return severity_status((alert.get("labels") or {}).get("severity"), p)


def severity_status(severity: Optional[str], p: dict) -> str:
    """The status a severity label value stands for (`default_status` if none)."""
    return p["severities"].get(severity, p["default_status"]) if severity else p["default_status"]
