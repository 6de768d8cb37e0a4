// test_js_sdk: exercises the JavaScript SDK for tests/sdk_helpers.rs.
//
// The steps of the Rust reference plugin (plugins/testing/rust-sdk), with the
// same findings: report verbs, grantedEndpoint, Redis, SQL, net, DNS, Kubernetes and
// log. Endpoints: `redis` (its first URL a server, its second a closed port), `db`
// (mysql), `kubernetes`, `dns` (when granted). Each step is one finding: ok with what the helper
// returned, or a note (unknown) with the error as `kind: message`. With `fanout`
// (URLs), it only fetches them all at once (`Promise.all` of `fetch`): one
// finding per URL, `HTTP <status>: <body>` or the error.
import {
  CapabilityError, ReportBuilder, arpProbe, grantedEndpoint, k8sGet, k8sGetAll, k8sList, k8sListAll,
  log, parseFields, parseInfo, parseParams, redisCommand, redisCommandAll, sqlQuery, sqlQueryAll, tcpConnect,
  tcpConnectAll, arpProbeAll,
  dnsQuery, dnsQueryAll,
} from '../../../sdk/js/vitals.js';

const param = (name, kind, description) => ({ name, kind, description, defaultValue: undefined, required: false });

function rowsText(rows) {
  const lines = rows.rows.map((row) => row.map((v) => (v === null ? 'NULL' : v)).join('|'));
  return `columns ${rows.columns.join(',')}; rows ${lines.join(';')}`;
}

function helpers(input, p) {
  const r = new ReportBuilder();
  const step = (subject, fn) => {
    try {
      r.finding(subject, 'ok', fn());
    } catch (e) {
      if (!(e instanceof CapabilityError)) throw e;
      r.note(subject, 'unknown', e.message); // `kind: detail`
    }
  };
  const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

  log('info', 'sdk test: start');

  // Endpoints.
  let ep;
  try {
    ep = grantedEndpoint(input, 'redis', 'redis');
  } catch (e) {
    return ReportBuilder.unknown(e.detail);
  }
  step('endpoint redis', () => `${ep.name} ${ep.kind} ${ep.urls.join(' ')}`);
  step('endpoint nope', () => grantedEndpoint(input, 'nope', 'redis').name);

  // Redis.
  let url = ep.urls[0];
  for (const [subject, args] of [['redis PING', ['PING']], ['redis ECHO', ['ECHO', 'vitals sdk']],
    ['redis DBSIZE', ['DBSIZE']], ['redis ROLE', ['ROLE']]]) {
    step(subject, () => JSON.stringify(redisCommand(ep.name, url, args)));
  }
  step('redis INFO', () => `redis_mode=${parseInfo(redisCommand(ep.name, url, ['INFO', 'server'])).redis_mode ?? ''}`);
  const fields = parseFields(['a', '1', 'b', '2', 'c']);
  step('redis fields', () => Object.keys(fields).sort(byName).map((k) => `${k}=${fields[k]}`).join(' '));
  step('redis SET', () => JSON.stringify(redisCommand(ep.name, url, ['SET', 'k', 'v'])));
  step('redis SENTINEL', () => JSON.stringify(redisCommand(ep.name, url, ['SENTINEL', 'MASTERS'])));
  step('redis down', () => JSON.stringify(redisCommand(ep.name, ep.urls[1], ['PING'])));
  // All at once: each reply as JSON, each error by its kind.
  step('redis all', () => redisCommandAll([
    [ep.name, url, ['PING']], [ep.name, url, ['ECHO', 'together']],
    [ep.name, ep.urls[1], ['PING']], [ep.name, url, ['SET', 'k', 'v']],
  ]).map((a) => (a instanceof CapabilityError ? a.kind : JSON.stringify(a))).join(' '));

  // SQL.
  let db;
  try {
    db = grantedEndpoint(input, 'db', 'mysql');
  } catch (e) {
    return ReportBuilder.unknown(e.detail);
  }
  url = db.urls[0];
  const select = "SELECT 1 AS one, NULL AS nothing, 'x' AS letter";
  step('sql SELECT', () => rowsText(sqlQuery(db.name, url, select)));
  step('sql records', () => {
    const rows = sqlQuery(db.name, url, select);
    const first = rows.records()[0];
    return rows.columns.map((c) => `${c}=${first[c] === null ? 'NULL' : first[c]}`).join(' ');
  });
  step('sql SHOW', () => `port=${sqlQuery(db.name, url, "SHOW VARIABLES LIKE 'port'").nameValues().port ?? ''}`);
  step('sql DELETE', () => rowsText(sqlQuery(db.name, url, 'DELETE FROM mysql.user')));
  step('sql missing', () => rowsText(sqlQuery(db.name, url, 'SELECT * FROM mysql.no_such_table')));
  // All at once: each result's first value, each error by its kind.
  step('sql all', () => sqlQueryAll([
    [db.name, url, 'SELECT 1 AS one'], [db.name, url, "SELECT 'x' AS letter"],
    [db.name, url, 'DELETE FROM mysql.user'],
  ]).map((a) => (a instanceof CapabilityError ? a.kind : (a.rows[0][0] ?? 'NULL'))).join(' '));

  // Net.
  const tcp = (address) => {
    const seconds = tcpConnect(address);
    if (typeof seconds !== 'number') throw new Error(`tcpConnect gave ${typeof seconds}`);
    r.sample('tcp_connect_seconds', 'Seconds a TCP connect took', seconds, { address });
    return seconds >= 0 && seconds < 5 ? 'connected' : `odd seconds: ${seconds}`;
  };
  for (const [subject, key] of [['tcp open', 'tcp_open'], ['tcp closed', 'tcp_closed'], ['tcp denied', 'tcp_denied']]) {
    if (p[key]) step(subject, () => tcp(p[key]));
  }
  for (const address of p.arp ?? []) {
    step(`arp ${address}`, () => {
      const replies = arpProbe(address);
      if (replies.some((a) => a.seconds < 0)) return 'odd seconds';
      return `${replies.length} replies: ${replies.map((a) => a.mac).sort(byName).join(' ')}`;
    });
  }
  // All at once: each outcome by a word (TCP) or its number of replies (ARP).
  const tcpAll = ['tcp_open', 'tcp_closed', 'tcp_denied'].map((k) => p[k]).filter(Boolean);
  if (tcpAll.length) {
    step('tcp all', () => tcpConnectAll(tcpAll)
      .map((a) => (a instanceof CapabilityError ? a.kind : 'connected')).join(' '));
  }
  if ((p.arp ?? []).length) {
    step('arp all', () => arpProbeAll(p.arp)
      .map((a) => (a instanceof CapabilityError ? a.kind : String(a.length))).join(' '));
  }

  // DNS, when a `dns` endpoint is granted: its first URL a resolver for cluster.local.
  const resolver = input.endpoints.find((e) => e.name === 'dns' && e.kind === 'dns');
  if (resolver) {
    const dnsUrl = resolver.urls[0];
    const api = 'kubernetes.default.svc.cluster.local';
    const text = (a) => [a.rcode, ...a.records.map((rec) => `${rec.type} ${rec.data}`)].join(' ');
    step('dns A', () => text(dnsQuery('dns', dnsUrl, api)));
    step('dns SRV', () => text(dnsQuery('dns', dnsUrl, `_https._tcp.${api}`, 'SRV')));
    step('dns NXDOMAIN', () => text(dnsQuery('dns', dnsUrl, 'nope.cluster.local', 'A')));
    step('dns denied', () => text(dnsQuery('dns', 'dns://10.9.9.9', api)));
    const silent = resolver.urls[1];
    step('dns silent', () => text(dnsQuery('dns', silent, api)));
    step('dns all', () => dnsQueryAll([
      ['dns', dnsUrl, api, 'A'], ['dns', dnsUrl, 'nope.cluster.local', 'A'], ['dns', 'dns://10.9.9.9', api, 'A'],
      ['dns', silent, api, 'A'],
    ]).map((a) => (a instanceof CapabilityError ? a.kind : text(a))).join('; '));
  }

  // Kubernetes.
  step('k8s get', () => `enable-l2-announcements=${k8sGet('kubernetes', '/api/v1/namespaces/kube-system/configmaps/cilium-config').data['enable-l2-announcements'] ?? ''}`);
  step('k8s list', () => k8sList('kubernetes', '/api/v1/nodes').map((n) => n.metadata.name).sort(byName).join(' '));
  step('k8s secret', () => JSON.stringify(k8sGet('kubernetes', '/api/v1/namespaces/kube-system/secrets/token')));
  try {
    k8sGet('kubernetes', '/api/v1/namespaces/kube-system/configmaps/nope');
    r.finding('k8s missing', 'ok', 'found');
  } catch (e) {
    if (!(e instanceof CapabilityError)) throw e;
    r.note('k8s missing', 'unknown', `${e.kind} ${e.code ?? 0}: ${e.detail}`);
  }
  // Reads at once: an object by its name, a list by its items' names, an error by
  // its kind (and code).
  const failed = (e) => (e.kind === 'api' ? `api ${e.code}` : e.kind);
  const named = (a, render) => (a instanceof CapabilityError ? failed(a) : render(a));
  const gets = k8sGetAll([
    ['kubernetes', '/api/v1/namespaces/kube-system/configmaps/cilium-config'],
    ['kubernetes', '/api/v1/namespaces/kube-system/secrets/token'],
    ['kubernetes', '/api/v1/namespaces/kube-system/configmaps/nope'],
  ]);
  const lists = k8sListAll([['kubernetes', '/api/v1/nodes'], ['kubernetes', '/api/v1/pods']], { limit: 2 });
  step('k8s batch', () => `get: ${gets.map((a) => named(a, (o) => o.metadata.name)).join(', ')}; list: ${
    lists.map((a) => named(a, (items) => items.map((i) => i.metadata.name).sort(byName).join(' '))).join(', ')}`);

  r.raise('ok'); // the errors above are notes: the status stays ok
  log('info', 'sdk test: done');
  return r.finish(`${r.findings.length} steps`);
}

async function fanout(urls) {
  const r = new ReportBuilder();
  const answers = await Promise.all(urls.map((url) => fetch(url).then(
    async (resp) => ({ url, ok: true, text: `HTTP ${resp.status}: ${await resp.text()}` }),
    (e) => ({ url, ok: false, text: String(e) }),
  )));
  for (const a of answers) r.finding(a.url, a.ok ? 'ok' : 'critical', a.text);
  return r.finish(`${answers.length} fetched`);
}

export const plugin = {
  describe() {
    return {
      name: 'test_js_sdk',
      version: '0.1.0',
      description: "test plugin: the JavaScript SDK's helpers",
      params: [
        param('tcp_open', 'string', 'an address that accepts TCP'),
        param('tcp_closed', 'string', 'an address that refuses TCP'),
        param('tcp_denied', 'string', 'an address not granted'),
        param('arp', 'list<string>', 'addresses to ARP-probe'),
        param('fanout', 'list<string>', 'only fetch these URLs, all at once'),
      ],
    };
  },

  async run(input) {
    const p = parseParams(input);
    if (p.fanout) return fanout(p.fanout);
    return helpers(input, p);
  },
};
