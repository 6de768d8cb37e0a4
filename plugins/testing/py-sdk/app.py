"""test_py_sdk: exercises the Python SDK for the tests.

mode "kubernetes" (the default; tests/python_sdk.rs): lists nodes every page at a
time, reads a ConfigMap, and reports what a missing object and an ungranted
resource raise.

mode "helpers" (tests/sdk_helpers.rs): the steps of the Rust reference plugin
(plugins/testing/rust-sdk), with the same findings: report verbs,
granted_endpoint, Redis, SQL, net, DNS, Kubernetes and log. Endpoints: `redis` (its
first URL a server, its second a closed port), `db` (mysql), `kubernetes`, `dns`
(when granted: a resolver for cluster.local). Each
step is one finding: ok with what the helper returned, or a note (unknown) with
the error as `kind: message`.
"""
import json

from wit_world import exports
from wit_world.imports.vitals_check_types import ParamSpec, PluginInfo

from vitals_sdk import (
    CapabilityError, ReportBuilder, RunInput, Status, arp_probe, dns_query, dns_query_all,
    granted_endpoint, k8s_get, k8s_get_all, k8s_list, k8s_list_all, log, parse_fields, parse_info,
    parse_params, redis_command, redis_command_all,
    sql_query, sql_query_all, tcp_connect, tcp_connect_all, arp_probe_all,
)


def _param(name, kind, description, default=None):
    return ParamSpec(name=name, kind=kind, description=description,
                     default_value=default, required=False)


class Plugin(exports.Plugin):
    def describe(self) -> PluginInfo:
        return PluginInfo(name="test_py_sdk", version="0.1.0",
                          description="test plugin: the Python SDK's helpers",
                          params=[
                              _param("mode", "string", "kubernetes | helpers", json.dumps("kubernetes")),
                              _param("tcp_open", "string", "an address that accepts TCP"),
                              _param("tcp_closed", "string", "an address that refuses TCP"),
                              _param("tcp_denied", "string", "an address not granted"),
                              _param("arp", "list<string>", "addresses to ARP-probe"),
                          ])

    def run(self, input: RunInput):
        p = parse_params(input)
        if p.get("mode", "kubernetes") == "helpers":
            return helpers(input, p)
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
        return r.build(f"{len(nodes)} nodes")  # the older name of finish, still working


def _json(v) -> str:
    """JSON text as the Rust reference writes it (compact, non-ASCII kept)."""
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def _rows_text(rows) -> str:
    lines = ["|".join("NULL" if v is None else v for v in row) for row in rows.rows]
    return f"columns {','.join(rows.columns)}; rows {';'.join(lines)}"


def helpers(input: RunInput, p: dict):
    r = ReportBuilder()

    def step(subject, fn):
        try:
            r.finding(subject, Status.OK, fn())
        except CapabilityError as e:
            r.note(subject, Status.UNKNOWN, str(e))  # `kind: detail`

    log("info", "sdk test: start")

    # Endpoints.
    try:
        ep = granted_endpoint(input, "redis", "redis")
    except CapabilityError as e:
        return ReportBuilder.unknown(e.detail)
    step("endpoint redis", lambda: f"{ep.name} {ep.kind} {' '.join(ep.urls)}")
    step("endpoint nope", lambda: granted_endpoint(input, "nope", "redis").name)

    # Redis.
    url = ep.urls[0]
    for subject, args in [("redis PING", ["PING"]), ("redis ECHO", ["ECHO", "vitals sdk"]),
                          ("redis DBSIZE", ["DBSIZE"]), ("redis ROLE", ["ROLE"])]:
        step(subject, lambda args=args: _json(redis_command(ep.name, url, args)))
    step("redis INFO", lambda: "redis_mode=" + parse_info(
        redis_command(ep.name, url, ["INFO", "server"])).get("redis_mode", ""))
    fields = parse_fields(["a", "1", "b", "2", "c"])
    step("redis fields", lambda: " ".join(f"{k}={fields[k]}" for k in sorted(fields)))
    step("redis SET", lambda: _json(redis_command(ep.name, url, ["SET", "k", "v"])))
    step("redis SENTINEL", lambda: _json(redis_command(ep.name, url, ["SENTINEL", "MASTERS"])))
    step("redis down", lambda: _json(redis_command(ep.name, ep.urls[1], ["PING"])))
    # All at once: each reply as JSON, each error by its kind.
    step("redis all", lambda: " ".join(
        a.kind if isinstance(a, CapabilityError) else _json(a)
        for a in redis_command_all([(ep.name, url, ["PING"]), (ep.name, url, ["ECHO", "together"]),
                                    (ep.name, ep.urls[1], ["PING"]), (ep.name, url, ["SET", "k", "v"])])))

    # SQL.
    try:
        db = granted_endpoint(input, "db", "mysql")
    except CapabilityError as e:
        return ReportBuilder.unknown(e.detail)
    url = db.urls[0]
    select = "SELECT 1 AS one, NULL AS nothing, 'x' AS letter"
    step("sql SELECT", lambda: _rows_text(sql_query(db.name, url, select)))

    def records():
        rows = sql_query(db.name, url, select)
        first = rows.records()[0]
        return " ".join(f"{c}={'NULL' if first[c] is None else first[c]}" for c in rows.columns)
    step("sql records", records)
    step("sql SHOW", lambda: "port=" + sql_query(db.name, url, "SHOW VARIABLES LIKE 'port'")
         .name_values().get("port", ""))
    step("sql DELETE", lambda: _rows_text(sql_query(db.name, url, "DELETE FROM mysql.user")))
    step("sql missing", lambda: _rows_text(sql_query(db.name, url, "SELECT * FROM mysql.no_such_table")))
    # All at once: each result's first value, each error by its kind.
    step("sql all", lambda: " ".join(
        a.kind if isinstance(a, CapabilityError) else (a.rows[0][0] or "NULL")
        for a in sql_query_all([(db.name, url, "SELECT 1 AS one"), (db.name, url, "SELECT 'x' AS letter"),
                                (db.name, url, "DELETE FROM mysql.user")])))

    # Net.
    def tcp(address):
        seconds = tcp_connect(address)
        assert isinstance(seconds, float)
        r.sample("tcp_connect_seconds", "Seconds a TCP connect took", seconds, address=address)
        return "connected" if 0 <= seconds < 5 else f"odd seconds: {seconds}"
    for subject, key in [("tcp open", "tcp_open"), ("tcp closed", "tcp_closed"),
                         ("tcp denied", "tcp_denied")]:
        if p.get(key):
            step(subject, lambda key=key: tcp(p[key]))

    def arp(address):
        replies = arp_probe(address)
        if any(a.seconds < 0 for a in replies):
            return "odd seconds"
        return f"{len(replies)} replies: {' '.join(sorted(a.mac for a in replies))}"
    for address in p.get("arp", []):
        step(f"arp {address}", lambda address=address: arp(address))
    # All at once: each outcome by a word (TCP) or its number of replies (ARP).
    tcp_all = [p[k] for k in ("tcp_open", "tcp_closed", "tcp_denied") if p.get(k)]
    if tcp_all:
        step("tcp all", lambda: " ".join(
            a.kind if isinstance(a, CapabilityError) else "connected"
            for a in tcp_connect_all(tcp_all)))
    if p.get("arp"):
        step("arp all", lambda: " ".join(
            a.kind if isinstance(a, CapabilityError) else str(len(a))
            for a in arp_probe_all(p["arp"])))

    # DNS, when a `dns` endpoint is granted: its first URL a resolver for cluster.local.
    resolvers = [e for e in input.endpoints if e.name == "dns" and e.kind == "dns"]
    if resolvers:
        dns_url = resolvers[0].urls[0]
        api = "kubernetes.default.svc.cluster.local"

        def text(a):
            return " ".join([a.rcode] + [f"{rec.type} {rec.data}" for rec in a.records])
        step("dns A", lambda: text(dns_query("dns", dns_url, api)))
        step("dns SRV", lambda: text(dns_query("dns", dns_url, "_https._tcp." + api, "SRV")))
        step("dns NXDOMAIN", lambda: text(dns_query("dns", dns_url, "nope.cluster.local", "A")))
        step("dns denied", lambda: text(dns_query("dns", "dns://10.9.9.9", api)))
        silent = resolvers[0].urls[1]
        step("dns silent", lambda: text(dns_query("dns", silent, api)))
        step("dns all", lambda: "; ".join(
            a.kind if isinstance(a, CapabilityError) else text(a)
            for a in dns_query_all([("dns", dns_url, api, "A"),
                                    ("dns", dns_url, "nope.cluster.local", "A"),
                                    ("dns", "dns://10.9.9.9", api, "A"),
                                    ("dns", silent, api, "A")])))

    # Kubernetes.
    step("k8s get", lambda: "enable-l2-announcements=" + k8s_get(
        "kubernetes", "/api/v1/namespaces/kube-system/configmaps/cilium-config")["data"]
        .get("enable-l2-announcements", ""))
    step("k8s list", lambda: " ".join(sorted(
        n["metadata"]["name"] for n in k8s_list("kubernetes", "/api/v1/nodes"))))
    step("k8s secret", lambda: _json(k8s_get("kubernetes", "/api/v1/namespaces/kube-system/secrets/token")))
    try:
        k8s_get("kubernetes", "/api/v1/namespaces/kube-system/configmaps/nope")
        r.finding("k8s missing", Status.OK, "found")
    except CapabilityError as e:
        r.note("k8s missing", Status.UNKNOWN, f"{e.kind} {e.code or 0}: {e.detail}")

    # Reads at once: an object by its name, a list by its items' names, an error
    # by its kind (and code).
    def failed(e):
        return f"api {e.code}" if e.kind == "api" else e.kind

    def named(a, render):
        return failed(a) if isinstance(a, CapabilityError) else render(a)

    gets = k8s_get_all([
        ("kubernetes", "/api/v1/namespaces/kube-system/configmaps/cilium-config"),
        ("kubernetes", "/api/v1/namespaces/kube-system/secrets/token"),
        ("kubernetes", "/api/v1/namespaces/kube-system/configmaps/nope")])
    lists = k8s_list_all([("kubernetes", "/api/v1/nodes", None),
                          ("kubernetes", "/api/v1/pods", None)], page=2)
    step("k8s batch", lambda: "get: " + ", ".join(
        named(a, lambda o: o["metadata"]["name"]) for a in gets) + "; list: " + ", ".join(
        named(a, lambda items: " ".join(sorted(i["metadata"]["name"] for i in items)))
        for a in lists))

    r.raise_(Status.OK)  # the errors above are notes: the status stays ok
    log("info", "sdk test: done")
    return r.finish(f"{len(r.findings)} steps")
