"""vault: seal, initialisation and HA leadership of a Vault or OpenBao cluster.

A vitals check plugin in Python, built with componentize-py (scripts/build-plugins):

    componentize-py -d wit -w check componentize app -p plugins/vault -p sdk/python -o vault.wasm

Every URL of the granted `http` endpoint is one server of the cluster. Each is
asked, without a token (these paths are unauthenticated):
  /v1/sys/health       initialized, sealed, standby, version
  /v1/sys/seal-status  unseal progress (t of n) when sealed
  /v1/sys/leader       HA: whether there is an active node, and its address

Critical: a server uninitialised or sealed; a standby that knows no active
leader; no active server at all, or more than one. Warning: a server unreachable
while an active one serves; servers reporting different leaders.
"""
import json

from wit_world import exports
from wit_world.imports.vitals_check_types import ParamSpec, PluginInfo

from vitals_sdk import (
    HttpError, NotGranted, ReportBuilder, RunInput, Status, granted_endpoint, http_get_all,
    parse_params,
)

VERSION = "0.1.0"


def _json(url: str, r):
    """(HTTP status, parsed body) of the answer `r` to a GET of `url` (a Response, or
    the HttpError it failed with, raised); Vault answers JSON with every status."""
    if isinstance(r, HttpError):
        raise r
    try:
        return r.status, json.loads(r.body)
    except ValueError:
        raise ValueError(f"{url}: HTTP {r.status}, not JSON: {r.text()[:120]!r}") from None


class Server:
    """What one server said about itself."""

    def __init__(self, url: str):
        self.url = url
        self.health = None
        self.seal = None
        self.leader = None
        self.error = None  # why it could not be read

    @property
    def active(self) -> bool:
        h = self.health or {}
        return h.get("initialized") is True and h.get("sealed") is False and h.get("standby") is False


class Plugin(exports.Plugin):
    def describe(self) -> PluginInfo:
        return PluginInfo(
            name="vault",
            version=VERSION,
            description="Vault/OpenBao: every server initialised and unsealed, exactly one active node, standbys following it",
            params=[
                ParamSpec(name="endpoint", kind="string",
                          description="the http endpoint whose URLs are the servers",
                          default_value=json.dumps("vault"), required=False),
                ParamSpec(name="timeout_seconds", kind="number",
                          description="connect and first-byte timeout of each request",
                          default_value="3", required=False),
                ParamSpec(name="ha", kind="boolean",
                          description="expect an HA cluster: exactly one active server, standbys following it",
                          default_value="true", required=False),
            ],
        )

    def run(self, input: RunInput):
        try:
            return self._run(input)
        except Exception as e:  # never trap: an unexpected answer is unknown
            return ReportBuilder.unknown(f"plugin error: {type(e).__name__}: {e}")

    def _run(self, input: RunInput):
        p = parse_params(input)
        name = p.get("endpoint", "vault")
        timeout = float(p.get("timeout_seconds", 3))
        ha = bool(p.get("ha", True))
        try:
            ep = granted_endpoint(input, name, "http")
        except NotGranted as e:
            return ReportBuilder.unknown(e.detail)
        if not ep.urls:
            return ReportBuilder.unknown(f"endpoint {name!r} has no URLs")

        servers = self._read_all([Server(url.rstrip("/")) for url in ep.urls], timeout)
        r = ReportBuilder()
        reachable = [s for s in servers if s.error is None]
        active = [s for s in reachable if s.active]
        uninit = [s for s in reachable if (s.health or {}).get("initialized") is False]
        sealed = [s for s in reachable if (s.health or {}).get("sealed") is True and s not in uninit]

        for s in servers:
            self._judge(r, s, active, ha)
        if not reachable:
            if all(s.error.unreachable for s in servers):
                return r.finish(f"no Vault server reachable ({len(servers)} configured)", Status.CRITICAL)
            # TLS or the host refused: nothing was observed.
            return r.finish(f"no Vault server could be observed: {servers[0].error}", Status.UNKNOWN)
        if ha and not active:
            r.finding("cluster", Status.CRITICAL, "no active server: requests cannot be served")
        if len(active) > 1:
            r.finding("cluster", Status.CRITICAL,
                      f"{len(active)} servers claim to be active: {', '.join(s.url for s in active)}")
        leaders = {(s.leader or {}).get("leader_address") for s in reachable
                   if (s.leader or {}).get("leader_address")}
        if len(leaders) > 1:
            r.finding("cluster", Status.WARNING,
                      f"servers name different leaders: {', '.join(sorted(leaders))}")

        r.sample("servers_reachable", "Servers that answered", len(reachable))
        r.sample("servers_active", "Servers that are active (unsealed, not standby)", len(active))
        r.sample("servers_sealed", "Servers that are sealed", len(sealed))
        r.sample("servers_uninitialized", "Servers that are not initialised", len(uninit))
        for s in reachable:
            r.sample("sealed", "1 when the server is sealed", 1 if s in sealed else 0, server=s.url)

        version = next((s.health.get("version") for s in reachable if (s.health or {}).get("version")), None)
        parts = [f"{len(active)} active", f"{len(reachable) - len(active) - len(sealed) - len(uninit)} standby"]
        if sealed:
            parts.append(f"{len(sealed)} sealed")
        if uninit:
            parts.append(f"{len(uninit)} uninitialised")
        if len(reachable) < len(servers):
            parts.append(f"{len(servers) - len(reachable)} unreachable")
        summary = ", ".join(parts) + (f" (Vault {version})" if version else "")
        return r.finish(summary)

    def _read_all(self, servers, timeout: float):
        """Every server's health, then the seal status of the sealed ones and the
        leader of the unsealed ones: two rounds of requests sent together."""
        def get_all(paths):
            urls = [s.url + path for s, path in paths]
            return zip(paths, urls, http_get_all(urls, timeout=timeout))

        for (s, _), url, answer in get_all([(s, "/v1/sys/health") for s in servers]):
            try:
                _, s.health = _json(url, answer)
            except HttpError as e:
                s.error = e
        then = []
        for s in servers:
            h = s.health if s.error is None else {}
            if h.get("sealed"):
                then.append((s, "/v1/sys/seal-status"))
            if h.get("initialized") and not h.get("sealed"):
                then.append((s, "/v1/sys/leader"))
        for (s, path), url, answer in get_all(then):
            try:
                status, body = _json(url, answer)
            except HttpError as e:
                s.error = e
                continue
            if path == "/v1/sys/seal-status":
                s.seal = body
            else:
                s.leader = body if status == 200 else None
        return servers

    def _judge(self, r: ReportBuilder, s: Server, active, ha: bool) -> None:
        if s.error is not None:
            e = s.error
            # Not observed: noted, and the servers that were observed decide.
            if e.kind == "HTTP-request-denied":
                r.note(s.url, Status.UNKNOWN, f"denied by the host: {e}")
            elif not e.unreachable:
                r.note(s.url, Status.UNKNOWN, f"not observed: {e}")
            else:
                # One server down is survivable while another is active.
                r.finding(s.url, Status.WARNING if active else Status.CRITICAL, f"unreachable: {e}")
            return
        h = s.health or {}
        if h.get("initialized") is False:
            r.finding(s.url, Status.CRITICAL, "not initialised: run `vault operator init`")
            return
        if h.get("sealed"):
            seal = s.seal or {}
            progress = f" (unseal progress {seal.get('progress', 0)}/{seal.get('t', '?')} of {seal.get('n', '?')} key shares)" if seal else ""
            r.finding(s.url, Status.CRITICAL, f"sealed{progress}: it serves no requests until unsealed")
            return
        leader = s.leader or {}
        if not h.get("standby"):
            r.finding(s.url, Status.OK, "active" + (f", leader {leader['leader_address']}" if leader.get("leader_address") else ""))
            return
        if not ha:
            r.finding(s.url, Status.OK, "standby")
            return
        address = leader.get("leader_address") or ""
        if not address:
            r.finding(s.url, Status.CRITICAL, "standby without an active leader: it cannot forward requests")
        else:
            r.finding(s.url, Status.OK, f"standby, following {address}")
