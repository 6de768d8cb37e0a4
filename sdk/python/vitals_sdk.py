"""vitals_sdk: helpers for vitals check plugins written in Python (componentize-py).

Put this directory on componentize-py's path (`-p sdk/python`) and import it from
the plugin's module:

    from vitals_sdk import ReportBuilder, Status, http_get, k8s_list, params

The bindings package `wit_world` only exists at build time (componentize-py
generates it from wit/), so this module can only be imported inside the component.
"""
import json
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from componentize_py_types import Err
from wit_world.imports import kubernetes as _k8s
from wit_world.imports import log as _log
from wit_world.imports import outgoing_handler
from wit_world.imports import streams
from wit_world.imports import wasi_http_types as http
from wit_world.imports.vitals_check_types import (
    Endpoint, Finding, Label, Report, RunInput, Sample, Status,
)

__all__ = [
    "Status", "Finding", "Sample", "Label", "Report", "RunInput", "Endpoint",
    "HttpError", "Response", "http_get", "get_json", "find_endpoint", "params",
    "report", "worst", "log", "error_code_text", "ReportBuilder", "CapabilityError",
    "k8s_get", "k8s_list",
]

_SEVERITY = {Status.OK: 0, Status.WARNING: 1, Status.CRITICAL: 2, Status.UNKNOWN: 3}


# ---------------------------------------------------------------- logging
def log(message: str, level: str = "info") -> None:
    """Log into the host's log (shown with `vitals --log-level debug`)."""
    _log.log(_log.Level[level.upper()], message)


# ---------------------------------------------------------------- run input
def find_endpoint(inp: RunInput, name: str, kind: Optional[str] = None) -> Optional[Endpoint]:
    """The granted endpoint `name` (of `kind`, when given: `http`, `redis`, `mysql`,
    `kubernetes`), or None."""
    for ep in inp.endpoints:
        if ep.name == name and (kind is None or ep.kind == kind):
            return ep
    return None


def params(inp: RunInput) -> dict:
    """The check's [params] as a dict (defaults are not filled in by the host)."""
    return json.loads(inp.params) if inp.params else {}


def worst(statuses) -> Status:
    return max(statuses, key=lambda s: _SEVERITY[s], default=Status.OK)


def report(status: Status, summary: str, findings=(), samples=()) -> Report:
    return Report(status=status, summary=summary,
                  findings=list(findings), samples=list(samples))


# ---------------------------------------------------------------- HTTP
class HttpError(Exception):
    """A request that got no HTTP response.

    kind: the wasi:http error-code case in kebab form, e.g. `connection-refused`,
    `HTTP-request-denied` (not granted), `connection-timeout`, `TLS-certificate-error`;
    or `stream-error` / `invalid-url`.
    """

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail

    @property
    def unreachable(self) -> bool:
        """True when the member could not be reached (a finding, not `unknown`)."""
        return self.kind in (
            "DNS-timeout", "DNS-error", "destination-not-found", "destination-unavailable",
            "destination-IP-unroutable", "connection-refused", "connection-terminated",
            "connection-timeout", "connection-read-timeout", "connection-write-timeout",
            "HTTP-response-timeout",
        )


def error_code_text(code) -> Tuple[str, str]:
    """(kind, detail) of a wasi:http error-code variant value, e.g. ErrorCode_ConnectionRefused()."""
    name = type(code).__name__.removeprefix("ErrorCode_")
    # CamelCase -> the WIT case name (DnsError -> DNS-error, HttpRequestDenied -> HTTP-request-denied)
    words, cur = [], ""
    for ch in name:
        if ch.isupper() and cur:
            words.append(cur)
            cur = ""
        cur += ch
    words.append(cur)
    upper = {"Dns": "DNS", "Ip": "IP", "Tls": "TLS", "Http": "HTTP"}
    kind = "-".join(upper.get(w, w.lower()) for w in words)
    value = getattr(code, "value", None)
    detail = "" if value is None else str(value)
    return kind, detail


@dataclass
class Response:
    status: int
    headers: Dict[str, List[bytes]] = field(default_factory=dict)
    body: bytes = b""

    def json(self):
        return json.loads(self.body)

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def _scheme(s: str):
    if s == "http":
        return http.Scheme_Http()
    if s == "https":
        return http.Scheme_Https()
    return http.Scheme_Other(s)


def http_get(url: str, headers: Optional[Dict[str, str]] = None,
             timeout: Optional[float] = None, max_body: int = 16 << 20) -> Response:
    """GET `url` through wasi:http/outgoing-handler. Blocks until the whole body is read.

    Raises HttpError when there is no HTTP response (denied, refused, timeout, TLS...).
    Any HTTP status (also 4xx/5xx) is returned as a Response.
    `timeout` (seconds) sets connect and first-byte timeouts; the host enforces its own too.
    """
    u = urlsplit(url)
    if not u.scheme or not u.netloc:
        raise HttpError("invalid-url", url)
    path = u.path or "/"
    if u.query:
        path += "?" + u.query

    fields = http.Fields.from_list(
        [(k, v.encode()) for k, v in (headers or {}).items()])
    request = http.OutgoingRequest(fields)  # takes ownership of `fields`
    request.set_method(http.Method_Get())
    request.set_scheme(_scheme(u.scheme))
    request.set_authority(u.netloc)
    request.set_path_with_query(path)

    options = None
    if timeout is not None:
        options = http.RequestOptions()
        ns = int(timeout * 1e9)
        options.set_connect_timeout(ns)
        options.set_first_byte_timeout(ns)

    try:
        future = outgoing_handler.handle(request, options)  # consumes request + options
    except Err as e:  # result<_, error-code> of an import raises Err(error-code)
        raise HttpError(*error_code_text(e.value)) from None

    with future:
        with future.subscribe() as pollable:  # child of `future`: drop it first
            pollable.block()
        # option<result<result<incoming-response, error-code>>>: nested results are
        # *values* (Ok/Err), only a function's top-level result raises.
        outer = future.get()
    if outer is None:
        raise HttpError("internal-error", "future not ready after block()")
    if isinstance(outer, Err):
        raise HttpError("internal-error", "response already taken")
    inner = outer.value
    if isinstance(inner, Err):
        raise HttpError(*error_code_text(inner.value))
    response = inner.value

    with response:
        status = response.status()
        with response.headers() as h:
            hdrs: Dict[str, List[bytes]] = {}
            for k, v in h.entries():
                hdrs.setdefault(k.lower(), []).append(v)
        body = response.consume()
        chunks, size = [], 0
        with body:
            with body.stream() as stream:  # child of `body`: drop before body
                while True:
                    try:
                        chunk = stream.blocking_read(65536)
                    except Err as e:
                        if isinstance(e.value, streams.StreamError_Closed):
                            break  # end of body
                        err = e.value.value
                        raise HttpError("stream-error", err.to_debug_string()) from None
                    size += len(chunk)
                    if size > max_body:
                        raise HttpError("HTTP-response-body-size", f"more than {max_body} bytes")
                    chunks.append(chunk)
    return Response(status=status, headers=hdrs, body=b"".join(chunks))


def get_json(url: str, **kw):
    """GET and parse JSON; returns (Response, parsed). ValueError on bad JSON."""
    r = http_get(url, **kw)
    return r, json.loads(r.body)


# ---------------------------------------------------------------- reports
class ReportBuilder:
    """Collects findings and samples; `build` makes the report, its status the
    worst finding's unless given."""

    def __init__(self):
        self.findings: List[Finding] = []
        self.samples: List[Sample] = []
        self._counted: List[Status] = []

    def finding(self, subject: str, status: Status, message: str) -> "ReportBuilder":
        """A finding; the overall status becomes at least `status`."""
        self.findings.append(Finding(subject=subject, status=status, message=message))
        self._counted.append(status)
        return self

    def note(self, subject: str, status: Status, message: str) -> "ReportBuilder":
        """A finding that does not raise the overall status by itself: a member
        that could not be observed (`unknown`) while the others speak for the cluster."""
        self.findings.append(Finding(subject=subject, status=status, message=message))
        return self

    def sample(self, name: str, help: str, value: float, **labels: str) -> "ReportBuilder":
        self.samples.append(Sample(name=name, help=help, value=float(value),
                                   labels=[Label(name=k, value=str(v)) for k, v in labels.items()]))
        return self

    def status(self) -> Status:
        return worst(self._counted)

    def build(self, summary: str, status: Optional[Status] = None) -> Report:
        return report(self.status() if status is None else status, summary,
                      self.findings, self.samples)


# ---------------------------------------------------------------- Kubernetes
class CapabilityError(Exception):
    """An error value of a vitals capability: kind is `denied`, `unreachable`,
    `timeout`, `tls` or `api` (then `code` is the HTTP status)."""

    def __init__(self, value):
        name = type(value).__name__
        self.kind = name.split("_", 1)[-1].lower()
        payload = getattr(value, "value", None)
        self.code = getattr(payload, "code", None)
        if self.code is not None:
            message = f"HTTP {self.code} {payload.reason}: {payload.message}"
        else:
            message = str(payload)
        super().__init__(f"{self.kind}: {message}")


def k8s_get(endpoint: str, path: str) -> dict:
    """GET one object (`/api/v1/namespaces/NS/configmaps/NAME`) as a dict."""
    try:
        return json.loads(_k8s.get(endpoint, path))
    except Err as e:
        raise CapabilityError(e.value) from None


def k8s_list(endpoint: str, path: str, label_selector: Optional[str] = None,
             field_selector: Optional[str] = None, page: int = 500) -> List[dict]:
    """LIST a collection (`/api/v1/pods`), every page: the items."""
    items: List[dict] = []
    token = None
    while True:
        options = _k8s.ListOptions(label_selector=label_selector, field_selector=field_selector,
                                   limit=page, continue_token=token)
        try:
            answer = json.loads(_k8s.list(endpoint, path, options))
        except Err as e:
            raise CapabilityError(e.value) from None
        items.extend(answer.get("items") or [])
        token = (answer.get("metadata") or {}).get("continue")
        if not token:
            return items
