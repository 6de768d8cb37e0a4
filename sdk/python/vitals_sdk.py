"""vitals_sdk: helpers for vitals check plugins written in Python (componentize-py).

Put this directory on componentize-py's path (`-p sdk/python`) and import it from
the plugin's module:

    from vitals_sdk import ReportBuilder, Status, granted_endpoint, parse_params, redis_command

The names follow the Rust SDK (`plugins/sdk`), in snake_case:

    ReportBuilder.finding / note / sample / raise_ / finish   report
    parse_params, granted_endpoint, log                        run input, log
    http_get -> Response (body: bytes), http_get_all (fan-out) HTTP
    redis_command, parse_info, parse_fields                    Redis
    sql_query -> Rows (.records(), .name_values())             SQL
    tcp_connect -> seconds, arp_probe -> [ArpReply]            net
    tcp_connect_all, arp_probe_all: several at once             net
    k8s_get, k8s_list, k8s_get_all, k8s_list_all               Kubernetes

Every capability helper raises `CapabilityError` (`.kind`: denied, unreachable,
auth, timeout, tls, server, refused, failed, api; `.detail`; `.code` for api);
`http_get` raises `HttpError`. Older names still work: `ReportBuilder.build`
(= finish), `params` (= parse_params), `find_endpoint` (None when not granted).

The bindings package `wit_world` only exists at build time (componentize-py
generates it from wit/), so this module can only be imported inside the component.
"""
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

from componentize_py_types import Err
from wit_world.imports import dns as _dns
from wit_world.imports import kubernetes as _k8s
from wit_world.imports import log as _log
from wit_world.imports import net as _net
from wit_world.imports import redis as _redis
from wit_world.imports import sql as _sql
from wit_world.imports import outgoing_handler
from wit_world.imports import streams
from wit_world.imports import wasi_http_types as http
from wit_world.imports.vitals_check_types import (
    Endpoint, Finding, Label, Report, RunInput, Sample, Status,
)

ArpReply = _net.ArpReply

__all__ = [
    "Status", "Finding", "Sample", "Label", "Report", "RunInput", "Endpoint", "ArpReply",
    "ReportBuilder", "parse_params", "granted_endpoint", "log",
    "HttpError", "Response", "http_get", "http_get_all", "get_json", "error_code_text",
    "CapabilityError", "NotGranted",
    "redis_command", "parse_info", "parse_fields",
    "Rows", "sql_query",
    "tcp_connect", "arp_probe", "tcp_connect_all", "arp_probe_all",
    "DnsRecord", "DnsAnswer", "dns_query", "dns_query_all",
    "k8s_get", "k8s_list",
    "report", "worst",
    # older names, kept working
    "params", "find_endpoint",
]

_SEVERITY = {Status.OK: 0, Status.WARNING: 1, Status.CRITICAL: 2, Status.UNKNOWN: 3}


_LEVELS = ("trace", "debug", "info", "warn", "error")


# ---------------------------------------------------------------- errors
class CapabilityError(Exception):
    """An error of a vitals capability (or a missing grant).

    kind: `denied`, `unreachable`, `auth`, `timeout`, `tls`, `server` (redis, sql),
    `refused`, `failed` (net), `api` (kubernetes; then `code` is the HTTP status).
    detail: the message without the kind. str(e) is `kind: detail`.
    """

    def __init__(self, kind: str, detail: str, code: Optional[int] = None):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.code = code

    @classmethod
    def from_wit(cls, value) -> "CapabilityError":
        """From a WIT error variant value (`Error_Denied("...")`, `Error_Api(ApiStatus)`)."""
        kind = type(value).__name__.split("_", 1)[-1].lower()
        payload = getattr(value, "value", None)
        code = getattr(payload, "code", None)
        if code is not None:
            return cls(kind, f"HTTP {code} {payload.reason}: {payload.message}", code)
        return cls(kind, str(payload))


class NotGranted(CapabilityError):
    """`granted_endpoint` found no such endpoint: kind `denied`."""

    def __init__(self, detail: str):
        super().__init__("denied", detail)


def _call(fn, *args):
    """Call a capability import; its `Err` becomes a CapabilityError."""
    try:
        return fn(*args)
    except Err as e:
        raise CapabilityError.from_wit(e.value) from None


# ---------------------------------------------------------------- logging
def log(*args, **kwargs) -> None:
    """log(level, message): into the host's log; level is `trace`, `debug`, `info`,
    `warn` or `error` (shown from `vitals --log-level LEVEL` on).

    The older form log(message, level="info") still works."""
    level = kwargs.pop("level", None)
    message = kwargs.pop("message", None)
    if kwargs:
        raise TypeError(f"log() got unexpected arguments {sorted(kwargs)}")
    args = list(args)
    if len(args) == 2:
        # log(level, message), or the older log(message, level)
        first, second = args
        if str(first).lower() not in _LEVELS and str(second).lower() in _LEVELS:
            first, second = second, first
        level, message = first, second
    elif len(args) == 1:
        if message is None:
            message = args[0]  # the older log(message[, level=...])
        else:
            level = args[0]
    level = "info" if level is None else level
    _log.log(_log.Level[str(level).upper()], str(message))


# ---------------------------------------------------------------- run input
def parse_params(inp: RunInput) -> dict:
    """The check's [params] as a dict (defaults are not filled in by the host: use
    `.get(name, default)`). ValueError if they are not a JSON object."""
    value = json.loads(inp.params) if inp.params and inp.params.strip() else {}
    if not isinstance(value, dict):
        raise ValueError("invalid parameters: not a JSON object")
    return value


params = parse_params  # the older name


def granted_endpoint(inp: RunInput, name: str, kind: Optional[str] = None) -> Endpoint:
    """The granted endpoint `name` of `kind` (`http`, `redis`, `mysql`,
    `kubernetes`; None: any kind). Raises NotGranted (a CapabilityError of kind
    `denied`) saying how to grant it."""
    for ep in inp.endpoints:
        if ep.name == name and (kind is None or ep.kind == kind):
            return ep
    what = f"{kind} endpoint" if kind else "endpoint"
    raise NotGranted(f"no granted {what} {json.dumps(name)} in cluster {inp.cluster}; "
                     "grant it in `grants.endpoints`")


def find_endpoint(inp: RunInput, name: str, kind: Optional[str] = None) -> Optional[Endpoint]:
    """The older form of granted_endpoint: the endpoint, or None."""
    try:
        return granted_endpoint(inp, name, kind)
    except NotGranted:
        return None


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
    """An HTTP answer: `status` (int), `headers` (lowercase name -> list of
    bytes values), `body` (bytes, the whole body)."""
    status: int
    headers: Dict[str, List[bytes]] = field(default_factory=dict)
    body: bytes = b""

    def json(self):
        """The body parsed as JSON (ValueError if it is not)."""
        return json.loads(self.body)

    def text(self) -> str:
        """The body as str (UTF-8, invalid bytes replaced)."""
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
    return _read(_start(url, headers, timeout), max_body)


def http_get_all(urls: Sequence[str], headers: Optional[Dict[str, str]] = None,
                 timeout: Optional[float] = None,
                 max_body: int = 16 << 20) -> List[Union[Response, "HttpError"]]:
    """GET every URL at once (fan-out: all requests are in flight together, so this
    takes about the slowest one's time, not the sum). One entry per URL, in order:
    its Response, or the HttpError it failed with (returned, not raised)."""
    started: List[Any] = []
    for url in urls:
        try:
            started.append(_start(url, headers, timeout))
        except HttpError as e:
            started.append(e)
    answers: List[Union[Response, HttpError]] = []
    for s in started:
        if isinstance(s, HttpError):
            answers.append(s)
            continue
        try:
            answers.append(_read(s, max_body))
        except HttpError as e:
            answers.append(e)
    return answers


def _start(url: str, headers: Optional[Dict[str, str]], timeout: Optional[float]):
    """Send a GET: its response future (the request is in flight once this returns)."""
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
        return outgoing_handler.handle(request, options)  # consumes request + options
    except Err as e:  # result<_, error-code> of an import raises Err(error-code)
        raise HttpError(*error_code_text(e.value)) from None


def _read(future, max_body: int) -> Response:
    """Wait for a response future and read the whole body."""
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
    """Collects findings and samples; `finish` makes the report, its status the
    worst of the findings (and `raise_`) unless given."""

    def __init__(self):
        self.findings: List[Finding] = []
        self.samples: List[Sample] = []
        self._counted: List[Status] = []

    @staticmethod
    def unknown(summary: str) -> Report:
        """A report that says the system could not be observed (no findings)."""
        return report(Status.UNKNOWN, summary)

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
        """A metric sample `vitals_<plugin>_<name>{labels}`; value a number, label
        values made str."""
        self.samples.append(Sample(name=name, help=help, value=float(value),
                                   labels=[Label(name=k, value=str(v)) for k, v in labels.items()]))
        return self

    def raise_(self, status: Status) -> "ReportBuilder":
        """Raise the overall status to at least `status` without a finding."""
        self._counted.append(status)
        return self

    def status(self) -> Status:
        """The overall status so far."""
        return worst(self._counted)

    def finish(self, summary: str, status: Optional[Status] = None) -> Report:
        """The report: `summary` (one line), status `status` when given, else the
        worst of the findings and `raise_` calls (ok if none)."""
        return report(self.status() if status is None else status, summary,
                      self.findings, self.samples)

    build = finish  # the older name


# ---------------------------------------------------------------- Redis
def redis_command(endpoint: str, url: str, args: Sequence[str]) -> Any:
    """Run a read-only command (`["INFO", "replication"]`) on `url` of the granted
    redis endpoint `endpoint`: the reply parsed from JSON (str, int, float, list,
    dict, bool or None for nil). Raises CapabilityError: `denied` (a command
    outside the read-only list), `unreachable`, `auth`, `timeout`, `tls`, `server`
    (an error reply, or an unparsable one)."""
    text = _call(_redis.command, endpoint, url, [str(a) for a in args])
    try:
        return json.loads(text)
    except ValueError as e:
        raise CapabilityError("server", f"unparsable reply: {e}") from None


def redis_command_all(calls: Sequence[Tuple[str, str, Sequence[str]]]) -> List[Any]:
    """Several `redis_command` calls at once, `(endpoint, url, args)` each: after
    about the slowest one's time instead of the sum of all (ask every member of a
    topology together). One entry per call, in order: its reply, or the
    CapabilityError it failed with (returned, not raised)."""
    requests = [_redis.Request(endpoint=e, url=u, args=[str(a) for a in args])
                for e, u, args in calls]
    out: List[Any] = []
    for answer in _redis.command_all(requests):
        if isinstance(answer, Err):
            out.append(CapabilityError.from_wit(answer.value))
            continue
        try:
            out.append(json.loads(answer.value))
        except ValueError as e:
            out.append(CapabilityError("server", f"unparsable reply: {e}"))
    return out


def parse_info(text: str) -> Dict[str, str]:
    """An `INFO` reply (`key:value` lines, `# Section` headers) as a dict of str."""
    out: Dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#") or ":" not in line:
            continue
        k, v = line.split(":", 1)
        out[k.strip()] = v.strip()
    return out


def parse_fields(reply: Any) -> Dict[str, str]:
    """A flat `[field, value, field, value, ...]` reply (`SENTINEL MASTER`, each entry
    of `SENTINEL MASTERS`/`REPLICAS`/`SENTINELS`), or a RESP3 map, as a dict of str."""
    def text(v):
        return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
    if isinstance(reply, dict):
        return {k: text(v) for k, v in reply.items()}
    if isinstance(reply, list):
        return {text(reply[i]): text(reply[i + 1]) for i in range(0, len(reply) - 1, 2)}
    return {}


# ---------------------------------------------------------------- SQL
@dataclass
class Rows:
    """A result set: `columns` (list of str) and `rows` (list of lists of str or
    None for SQL NULL: values in the text protocol's form, `"1"` not 1)."""
    columns: List[str]
    rows: List[List[Optional[str]]]

    def records(self) -> List[Dict[str, Optional[str]]]:
        """Each row as a dict by column name (None is SQL NULL)."""
        return [dict(zip(self.columns, row)) for row in self.rows]

    def name_values(self) -> Dict[str, str]:
        """A two-column result (`SHOW STATUS`, `SHOW VARIABLES`) as a dict from the
        first column to the second (NULL becomes "")."""
        return {row[0]: (row[1] if len(row) > 1 and row[1] is not None else "")
                for row in self.rows if row and row[0] is not None}


def sql_query(endpoint: str, url: str, statement: str) -> Rows:
    """Run one read-only statement (`SELECT ...`, `SHOW ...`) on `url` of the granted
    mysql endpoint `endpoint`. Raises CapabilityError: `denied` (not a single
    read-only statement), `unreachable`, `auth`, `timeout`, `tls`, `server`."""
    return _rows(_call(_sql.query, endpoint, url, statement))


def sql_query_all(calls: Sequence[Tuple[str, str, str]]) -> List[Union[Rows, CapabilityError]]:
    """Several `sql_query` calls at once, `(endpoint, url, statement)` each: after
    about the slowest one's time (ask every node together). One entry per call, in
    order: its Rows, or the CapabilityError it failed with (returned, not raised)."""
    requests = [_sql.Request(endpoint=e, url=u, statement=st) for e, u, st in calls]
    return [CapabilityError.from_wit(a.value) if isinstance(a, Err) else _rows(a.value)
            for a in _sql.query_all(requests)]


def _rows(rows) -> Rows:
    return Rows(columns=list(rows.columns), rows=[list(r) for r in rows.rows])


# ---------------------------------------------------------------- net
def tcp_connect(address: str) -> float:
    """Open and close a TCP connection to `address` (`10.0.0.5:443`, `[fd00::5]:443`;
    IP literals only): the seconds it took (float). Raises CapabilityError:
    `denied` (not granted), `refused`, `timeout`, `unreachable`, `failed`."""
    return _call(_net.tcp_connect, address)


def arp_probe(address: str) -> List[ArpReply]:
    """ARP-probe the IPv4 `address`: one ArpReply(mac: str, seconds: float) per MAC
    that answered ([] nobody holds it, 2+ a conflict). Raises CapabilityError:
    `denied`, `unreachable`, `failed` (ARP needs root or CAP_NET_RAW for vitals)."""
    return list(_call(_net.arp_probe, address))


def tcp_connect_all(addresses: Sequence[str]) -> List[Any]:
    """`tcp_connect` of several addresses at once (contract 0.4.4; at most 16 in
    flight). One entry per address, in order: the seconds, or the CapabilityError
    it failed with (returned, not raised)."""
    return [CapabilityError.from_wit(a.value) if isinstance(a, Err) else a.value
            for a in _net.tcp_connect_all(list(addresses))]


def arp_probe_all(addresses: Sequence[str]) -> List[Any]:
    """`arp_probe` of several addresses at once, listening for all of them together
    (contract 0.4.4). One entry per address, in order: its list of ArpReply, or the
    CapabilityError it failed with (returned, not raised)."""
    return [CapabilityError.from_wit(a.value) if isinstance(a, Err) else list(a.value)
            for a in _net.arp_probe_all(list(addresses))]


# ---------------------------------------------------------------- DNS
@dataclass
class DnsRecord:
    """One record of an answer: its owner name, type (`A`, `SRV`, ...), TTL and
    data in zone-file form (`10.43.0.10`, `0 100 443 target.example.`)."""
    name: str
    type: str
    ttl: int
    data: str


@dataclass
class DnsAnswer:
    """What a resolver answered: `rcode` (`NOERROR`, `NXDOMAIN`, `SERVFAIL`, ...),
    the AA flag, the answer section and the seconds it took."""
    rcode: str
    authoritative: bool
    records: List[DnsRecord]
    seconds: float

    def data_of(self, type: str) -> List[str]:
        """The data of the records of `type`: for an address query, the addresses
        the name resolves to (after any CNAME)."""
        return [r.data for r in self.records if r.type.upper() == type.upper()]


def _query_type(type: str):
    try:
        return _dns.QueryType[str(type).upper()]
    except KeyError:
        raise CapabilityError("denied", f"query type {type!r}: expected A, AAAA, CNAME, SRV, "
                                        "TXT, PTR, NS, MX or SOA") from None


def _answer(a) -> DnsAnswer:
    return DnsAnswer(
        rcode=a.rcode, authoritative=a.authoritative, seconds=a.seconds,
        records=[DnsRecord(name=r.name, type=r.type if hasattr(r, "type") else r.type_,
                           ttl=r.ttl, data=r.data) for r in a.records])


def dns_query(endpoint: str, url: str, name: str, type: str = "A") -> DnsAnswer:
    """Ask `url` of the granted dns endpoint `endpoint` for the `type` records of
    `name` (fully qualified; no search domains). NXDOMAIN is an answer, not an
    error. Raises CapabilityError: `denied`, `timeout`, `unreachable`, `failed`."""
    return _answer(_call(_dns.query, endpoint, url, name, _query_type(type)))


def dns_query_all(calls: Sequence[Tuple[str, str, str, str]]) -> List[Any]:
    """Several `dns_query` calls at once, `(endpoint, url, name, type)` each: one
    entry per call, in order: its DnsAnswer, or the CapabilityError it failed with
    (returned, not raised)."""
    out: List[Any] = [None] * len(calls)
    requests, sent = [], []
    for i, (e, u, n, t) in enumerate(calls):
        try:
            requests.append(_dns.Request(endpoint=e, url=u, name=n, query_type=_query_type(t)))
            sent.append(i)
        except CapabilityError as err:  # an unknown type: that entry only, not sent
            out[i] = err
    for i, a in zip(sent, _dns.query_all(requests) if requests else []):
        out[i] = CapabilityError.from_wit(a.value) if isinstance(a, Err) else _answer(a.value)
    return out


# ---------------------------------------------------------------- Kubernetes
def k8s_get(endpoint: str, path: str) -> dict:
    """GET one object (`/api/v1/namespaces/NS/configmaps/NAME`) as a dict. Raises
    CapabilityError: `denied`, `unreachable`, `timeout`, `tls`, `api` (`.code`)."""
    return json.loads(_call(_k8s.get, endpoint, path))


def k8s_list(endpoint: str, path: str, label_selector: Optional[str] = None,
             field_selector: Optional[str] = None, page: int = 500) -> List[dict]:
    """LIST a collection (`/api/v1/pods`), every page (`page` objects a request):
    the items, as dicts. Raises CapabilityError as k8s_get."""
    items: List[dict] = []
    token = None
    while True:
        options = _k8s.ListOptions(label_selector=label_selector, field_selector=field_selector,
                                   limit=page, continue_token=token)
        answer = json.loads(_call(_k8s.list, endpoint, path, options))
        items.extend(answer.get("items") or [])
        token = (answer.get("metadata") or {}).get("continue")
        if not token:
            return items


def _k8s_batch(reads: list) -> list:
    """The host's `kubernetes.batch`: each answer's text, or its CapabilityError."""
    return [CapabilityError.from_wit(a.value) if isinstance(a, Err) else a.value
            for a in (_k8s.batch(reads) if reads else [])]


def k8s_get_all(calls: Sequence[Tuple[str, str]]) -> List[Any]:
    """Several `k8s_get` calls at once, `(endpoint, path)` each: one entry per
    call, in order: the object, or the CapabilityError it failed with (returned,
    not raised)."""
    reads = [_k8s.Read(endpoint=e, path=p, list=None) for e, p in calls]
    return [a if isinstance(a, CapabilityError) else json.loads(a) for a in _k8s_batch(reads)]


def k8s_list_all(calls: Sequence[Tuple[str, str, Optional[str]]], page: int = 500) -> List[Any]:
    """Several `k8s_list` calls at once, `(endpoint, path, label_selector)` each,
    every page (the next pages of all together, round by round): one entry per
    call, in order: the items, or the CapabilityError it failed with (returned,
    not raised)."""
    out: List[Any] = [[] for _ in calls]
    tokens: Dict[int, Optional[str]] = {i: None for i in range(len(calls))}
    while tokens:
        pending = sorted(tokens)
        reads = [_k8s.Read(endpoint=calls[i][0], path=calls[i][1], list=_k8s.ListOptions(
            label_selector=calls[i][2], field_selector=None, limit=page,
            continue_token=tokens[i])) for i in pending]
        tokens = {}
        for i, a in zip(pending, _k8s_batch(reads)):
            if isinstance(a, CapabilityError):
                out[i] = a
                continue
            answer = json.loads(a)
            out[i].extend(answer.get("items") or [])
            token = (answer.get("metadata") or {}).get("continue")
            if token:
                tokens[i] = token
    return out
