// vitals SDK for check plugins written in JavaScript (componentize-js).
//
// Import it from the plugin's module with a relative path; componentize-js
// bundles it into the component:
//
//   import { ReportBuilder, grantedEndpoint, parseParams, redisCommand } from './sdk/vitals.js';
//
// The names follow the Rust SDK (plugins/sdk), in camelCase:
//
//   ReportBuilder finding / note / sample / raise / finish    report
//   parseParams, grantedEndpoint, log                          run input, log
//   fetch (the platform's; through the host's gate)            HTTP
//   redisCommand, redisCommandAll, parseInfo, parseFields       Redis
//   sqlQuery, sqlQueryAll -> Rows (.records(), .nameValues())  SQL
//   tcpConnect -> seconds, arpProbe -> [{mac, seconds}]        net
//   tcpConnectAll, arpProbeAll: several at once                 net
//   dnsQuery, dnsQueryAll -> {rcode, records, seconds, ...}    DNS
//   k8sGet, k8sList, k8sGetAll, k8sListAll                     Kubernetes
//
// Every capability helper throws a CapabilityError (`kind`: denied, unreachable,
// auth, timeout, tls, server, refused, failed, api; `detail`; `code` for api;
// `payload`, the raw WIT variant {tag, val}). Older names still work: `build`
// (= finish), `params` (= parseParams), `endpoint` (= grantedEndpoint).
//
// WIT values in JavaScript: records are objects with camelCase fields, enums are
// strings ('ok', 'warning', ...), options are a value or undefined. A raw capability
// import returns its value or throws an object whose `payload` is the error variant
// ({tag: 'denied', val: '...'}, {tag: 'api', val: {code, reason, message}}).
import * as dns from 'vitals:check/dns@0.4.4';
import * as k8s from 'vitals:check/kubernetes@0.4.4';
import { log as hostLog } from 'vitals:check/log@0.4.4';
import * as net from 'vitals:check/net@0.4.4';
import * as redis from 'vitals:check/redis@0.4.4';
import * as sql from 'vitals:check/sql@0.4.4';

const SEVERITY = { ok: 0, warning: 1, critical: 2, unknown: 3 };

/** The worse of two statuses. */
export function worse(a, b) {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

// ------------------------------------------------------------------ errors

/** An error of a vitals capability (or a missing grant): `kind` is 'denied',
 *  'unreachable', 'auth', 'timeout', 'tls', 'server' (redis, sql), 'refused',
 *  'failed' (net) or 'api' (kubernetes; then `code` is the HTTP status);
 *  `detail` the message without the kind; `message` is `kind: detail`. */
export class CapabilityError extends Error {
  constructor(kind, detail, code = undefined, payload = undefined) {
    super(`${kind}: ${detail}`);
    this.name = 'CapabilityError';
    this.kind = kind;
    this.detail = detail;
    this.code = code;
    this.payload = payload ?? { tag: kind, val: detail };
  }

  /** From what a capability import threw (its `payload` is the WIT variant). */
  static from(e) {
    if (e instanceof CapabilityError) return e;
    const p = e && e.payload !== undefined ? e.payload : e;
    if (p && typeof p === 'object' && 'tag' in p) {
      if (p.tag === 'api') {
        return new CapabilityError('api', `HTTP ${p.val.code} ${p.val.reason}: ${p.val.message}`, p.val.code, p);
      }
      return new CapabilityError(p.tag, String(p.val), undefined, p);
    }
    return e;
  }
}

function call(fn) {
  try {
    return fn();
  } catch (e) {
    throw CapabilityError.from(e);
  }
}

/** Any error as one line: `denied: ...`, `HTTP 404 NotFound: ...` (an api error),
 *  an Error's message otherwise. */
export function errorText(e) {
  if (e instanceof CapabilityError) return e.kind === 'api' ? e.detail : e.message;
  const p = e && e.payload !== undefined ? e.payload : e;
  if (p && typeof p === 'object' && 'tag' in p) {
    if (p.tag === 'api') return `HTTP ${p.val.code} ${p.val.reason}: ${p.val.message}`;
    return `${p.tag}: ${p.val}`;
  }
  return String(e && e.message ? e.message : e);
}

// ------------------------------------------------------------------ log, input

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

/** Log into the host's log: level is 'trace', 'debug', 'info', 'warn' or 'error'. */
export function log(level, message) {
  hostLog(LEVELS.includes(level) ? level : 'info', String(message));
}

/** The check's [params] as an object (defaults are not filled in by the host:
 *  spread them under it, `{ endpoint: 'service', ...parseParams(input) }`).
 *  Throws an Error if they are not a JSON object. */
export function parseParams(input) {
  const value = input.params && input.params.trim() ? JSON.parse(input.params) : {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('invalid parameters: not a JSON object');
  }
  return value;
}

/** The older name of parseParams. */
export const params = parseParams;

/** The granted endpoint `name` of `kind` ('http', 'redis', 'mysql', 'kubernetes';
 *  undefined: any kind): `{name, kind, urls}`. Throws a CapabilityError of kind
 *  'denied' saying how to grant it. */
export function grantedEndpoint(input, name, kind) {
  const ep = input.endpoints.find((e) => e.name === name && (!kind || e.kind === kind));
  if (!ep) {
    const what = kind ? `${kind} endpoint` : 'endpoint';
    throw new CapabilityError('denied', `no granted ${what} ${JSON.stringify(name)} in cluster ${input.cluster}; grant it in \`grants.endpoints\``);
  }
  return ep;
}

/** The older name of grantedEndpoint. */
export const endpoint = grantedEndpoint;

// ------------------------------------------------------------------ Redis

/** Run a read-only command (`['INFO', 'replication']`) on `url` of the granted
 *  redis endpoint `endpointName`: the reply parsed from JSON (string, number,
 *  array, object, boolean, null for nil). Throws CapabilityError: denied,
 *  unreachable, auth, timeout, tls, server (an error reply, or an unparsable one). */
export function redisCommand(endpointName, url, args) {
  const text = call(() => redis.command(endpointName, url, args.map(String)));
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CapabilityError('server', `unparsable reply: ${e.message}`);
  }
}

/** Several redisCommand calls at once, `[endpointName, url, args]` each: after about
 *  the slowest one's time instead of the sum of all (ask every member of a topology
 *  together). One entry per call, in order: its reply, or the CapabilityError it
 *  failed with (returned, not thrown). */
export function redisCommandAll(calls) {
  const requests = calls.map(([endpoint, url, args]) => ({ endpoint, url, args: args.map(String) }));
  return redis.commandAll(requests).map((answer) => {
    if (answer.tag === 'err') return CapabilityError.from(answer.val);
    try {
      return JSON.parse(answer.val);
    } catch (e) {
      return new CapabilityError('server', `unparsable reply: ${e.message}`);
    }
  });
}

/** An INFO reply (`key:value` lines, `# Section` headers) as an object of strings. */
export function parseInfo(text) {
  const out = {};
  for (const line of String(text).split(/\r?\n/)) {
    if (line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i < 0) continue;
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

/** A flat `[field, value, field, value, ...]` reply (SENTINEL MASTER, each entry of
 *  SENTINEL MASTERS/REPLICAS/SENTINELS), or a RESP3 map, as an object of strings. */
export function parseFields(reply) {
  const text = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
  const out = {};
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) out[text(reply[i])] = text(reply[i + 1]);
  } else if (reply && typeof reply === 'object') {
    for (const [k, v] of Object.entries(reply)) out[k] = text(v);
  }
  return out;
}

// ------------------------------------------------------------------ SQL

/** A result set: `columns` (strings) and `rows` (arrays of strings, null for SQL
 *  NULL: values in the text protocol's form, '1' not 1). */
export class Rows {
  constructor(columns, rows) {
    this.columns = columns;
    this.rows = rows;
  }

  /** Each row as an object by column name (null is SQL NULL). */
  records() {
    return this.rows.map((row) => Object.fromEntries(this.columns.map((c, i) => [c, row[i] ?? null])));
  }

  /** A two-column result (SHOW STATUS, SHOW VARIABLES) as an object from the first
   *  column to the second (NULL becomes ''). */
  nameValues() {
    const out = {};
    for (const row of this.rows) {
      if (row.length && row[0] != null) out[row[0]] = row[1] ?? '';
    }
    return out;
  }
}

/** Run one read-only statement (SELECT ..., SHOW ...) on `url` of the granted mysql
 *  endpoint `endpointName`: a Rows. Throws CapabilityError: denied (not a single
 *  read-only statement), unreachable, auth, timeout, tls, server. */
export function sqlQuery(endpointName, url, statement) {
  return rows(call(() => sql.query(endpointName, url, statement)));
}

/** Several sqlQuery calls at once, `[endpointName, url, statement]` each: after about
 *  the slowest one's time (ask every node together). One entry per call, in order:
 *  its Rows, or the CapabilityError it failed with (returned, not thrown). */
export function sqlQueryAll(calls) {
  const requests = calls.map(([endpoint, url, statement]) => ({ endpoint, url, statement }));
  return sql.queryAll(requests).map((answer) =>
    answer.tag === 'err' ? CapabilityError.from(answer.val) : rows(answer.val));
}

function rows(r) {
  return new Rows([...r.columns], r.rows.map((row) => row.map((v) => v ?? null)));
}

// ------------------------------------------------------------------ net

/** Open and close a TCP connection to `address` ('10.0.0.5:443', '[fd00::5]:443';
 *  IP literals only): the seconds it took (a number). Throws CapabilityError:
 *  denied (not granted), refused, timeout, unreachable, failed. */
export function tcpConnect(address) {
  return call(() => net.tcpConnect(address));
}

/** ARP-probe the IPv4 `address`: one {mac, seconds} per MAC that answered ([]
 *  nobody holds it, 2+ a conflict). Throws CapabilityError: denied, unreachable,
 *  failed (ARP needs root or CAP_NET_RAW for vitals). */
export function arpProbe(address) {
  return call(() => net.arpProbe(address)).map((r) => ({ mac: r.mac, seconds: r.seconds }));
}

/** tcpConnect of several addresses at once (contract 0.4.4; at most 16 in flight):
 *  one entry per address, in order: the seconds, or the CapabilityError it failed
 *  with (returned, not thrown). */
export function tcpConnectAll(addresses) {
  return net.tcpConnectAll(addresses).map((a) => (a.tag === 'err' ? CapabilityError.from(a.val) : a.val));
}

/** arpProbe of several addresses at once, listening for all of them together
 *  (contract 0.4.4): one entry per address, in order: its replies, or the
 *  CapabilityError it failed with (returned, not thrown). */
export function arpProbeAll(addresses) {
  return net.arpProbeAll(addresses).map((a) => (a.tag === 'err'
    ? CapabilityError.from(a.val)
    : a.val.map((r) => ({ mac: r.mac, seconds: r.seconds }))));
}

// ------------------------------------------------------------------ DNS

const QUERY_TYPES = ['a', 'aaaa', 'cname', 'srv', 'txt', 'ptr', 'ns', 'mx', 'soa'];

function queryType(type) {
  const t = String(type).toLowerCase();
  if (!QUERY_TYPES.includes(t)) {
    throw new CapabilityError('denied', `query type ${JSON.stringify(type)}: expected A, AAAA, CNAME, SRV, TXT, PTR, NS, MX or SOA`);
  }
  return t;
}

function dnsAnswer(a) {
  const records = a.records.map((r) => ({ name: r.name, type: r.type, ttl: r.ttl, data: r.data }));
  return {
    rcode: a.rcode,
    authoritative: a.authoritative,
    records,
    seconds: a.seconds,
    /** The data of the records of `type` (an address query: the addresses). */
    dataOf: (type) => records.filter((r) => r.type.toUpperCase() === String(type).toUpperCase()).map((r) => r.data),
  };
}

/** Ask `url` of the granted dns endpoint `endpointName` for the `type` ('A',
 *  'SRV', ...) records of `name` (fully qualified; no search domains): {rcode
 *  ('NOERROR', 'NXDOMAIN', ...), authoritative, records [{name, type, ttl, data}],
 *  seconds, dataOf(type)}. NXDOMAIN is an answer, not an error. Throws
 *  CapabilityError: denied, timeout, unreachable, failed. */
export function dnsQuery(endpointName, url, name, type = 'A') {
  const t = queryType(type);
  return dnsAnswer(call(() => dns.query(endpointName, url, name, t)));
}

/** Several dnsQuery calls at once, `[endpointName, url, name, type]` each. One
 *  entry per call, in order: its answer, or the CapabilityError it failed with
 *  (returned, not thrown). */
export function dnsQueryAll(calls) {
  const out = new Array(calls.length);
  const requests = [];
  const sent = [];
  calls.forEach(([endpoint, url, name, type], i) => {
    try {
      requests.push({ endpoint, url, name, queryType: queryType(type ?? 'A') });
      sent.push(i);
    } catch (e) {
      out[i] = e; // an unknown type: that entry only, not sent
    }
  });
  const answers = requests.length ? dns.queryAll(requests) : [];
  answers.forEach((answer, k) => {
    out[sent[k]] = answer.tag === 'err' ? CapabilityError.from(answer.val) : dnsAnswer(answer.val);
  });
  return out;
}

// ------------------------------------------------------------------ Kubernetes

/** GET one Kubernetes object as an object. Throws CapabilityError: denied,
 *  unreachable, timeout, tls, api (`code`: the HTTP status). */
export function k8sGet(endpointName, path) {
  return JSON.parse(call(() => k8s.get(endpointName, path)));
}

/** LIST a collection, every page (`limit` objects a request, default 500): the
 *  items. Throws CapabilityError as k8sGet. */
export function k8sList(endpointName, path, { labelSelector, fieldSelector, limit = 500 } = {}) {
  const items = [];
  let continueToken;
  do {
    const page = JSON.parse(call(() => k8s.list(endpointName, path, { labelSelector, fieldSelector, limit, continueToken })));
    items.push(...(page.items ?? []));
    continueToken = page.metadata?.continue || undefined;
  } while (continueToken);
  return items;
}

/** The host's kubernetes.batch: each answer's text, or its CapabilityError. */
function k8sBatch(reads) {
  if (!reads.length) return [];
  return k8s.batch(reads).map((a) => (a.tag === 'err' ? CapabilityError.from(a.val) : a.val));
}

/** Several k8sGet calls at once, `[endpointName, path]` each: one entry per call,
 *  in order: the object, or the CapabilityError it failed with (returned). */
export function k8sGetAll(calls) {
  return k8sBatch(calls.map(([endpoint, path]) => ({ endpoint, path, list: undefined })))
    .map((a) => (a instanceof CapabilityError ? a : JSON.parse(a)));
}

/** Several k8sList calls at once, `[endpointName, path, labelSelector]` each, every
 *  page (the next pages of all together, round by round): one entry per call, in
 *  order: the items, or the CapabilityError it failed with (returned). */
export function k8sListAll(calls, { limit = 500 } = {}) {
  const out = calls.map(() => []);
  let tokens = new Map(calls.map((_, i) => [i, undefined]));
  while (tokens.size) {
    const pending = [...tokens.keys()];
    const answers = k8sBatch(pending.map((i) => ({
      endpoint: calls[i][0],
      path: calls[i][1],
      list: { labelSelector: calls[i][2] ?? undefined, fieldSelector: undefined, limit, continueToken: tokens.get(i) },
    })));
    tokens = new Map();
    answers.forEach((a, k) => {
      const i = pending[k];
      if (a instanceof CapabilityError) {
        out[i] = a;
        return;
      }
      const page = JSON.parse(a);
      out[i].push(...(page.items ?? []));
      if (page.metadata?.continue) tokens.set(i, page.metadata.continue);
    });
  }
  return out;
}

// ------------------------------------------------------------------ reports

/** Collects findings and samples; `finish` makes the report, its status the worst
 *  of the findings (and `raise` calls) unless given. */
export class ReportBuilder {
  constructor() {
    this.findings = [];
    this.samples = [];
    this.counted = 'ok';
  }

  /** A report that says the system could not be observed (no findings). */
  static unknown(summary) {
    return { status: 'unknown', summary, findings: [], samples: [] };
  }

  /** A finding; the overall status becomes at least `status`. */
  finding(subject, status, message) {
    this.findings.push({ subject, status, message });
    this.counted = worse(this.counted, status);
    return this;
  }

  /** A finding that does not raise the overall status by itself: a member that
   *  could not be observed ('unknown') while the others speak for the cluster. */
  note(subject, status, message) {
    this.findings.push({ subject, status, message });
    return this;
  }

  /** A metric sample `vitals_<plugin>_<name>{labels}`; label values made strings. */
  sample(name, help, value, labels = {}) {
    this.samples.push({ name, help, value: Number(value), labels: Object.entries(labels).map(([n, v]) => ({ name: n, value: String(v) })) });
    return this;
  }

  /** Raise the overall status to at least `status` without a finding. */
  raise(status) {
    this.counted = worse(this.counted, status);
    return this;
  }

  /** The overall status so far. */
  status() {
    return this.counted;
  }

  /** The report: `summary`, status `status` when given, else the worst so far. */
  finish(summary, status) {
    return { status: status ?? this.status(), summary, findings: this.findings, samples: this.samples };
  }

  /** The older name of finish. */
  build(summary, status) {
    return this.finish(summary, status);
  }
}
