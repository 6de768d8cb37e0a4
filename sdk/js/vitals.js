// vitals SDK for check plugins written in JavaScript (componentize-js).
//
// Import it from the plugin's module with a relative path; componentize-js
// bundles it into the component:
//
//   import { ReportBuilder, params, k8sList } from '../../sdk/js/vitals.js';
//
// WIT values in JavaScript: records are objects with camelCase fields, enums are
// strings ('ok', 'warning', ...), options are a value or undefined. A capability
// call returns its value or throws an object whose `payload` is the error variant
// ({tag: 'denied', val: '...'}, {tag: 'api', val: {code, reason, message}}).
import * as k8s from 'vitals:check/kubernetes@0.4.0';
import { log as hostLog } from 'vitals:check/log@0.4.0';

const SEVERITY = { ok: 0, warning: 1, critical: 2, unknown: 3 };

/** The worse of two statuses. */
export function worse(a, b) {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

/** Log into the host's log: level is 'trace', 'debug', 'info', 'warn' or 'error'. */
export function log(level, message) {
  hostLog(level, String(message));
}

/** The check's [params] as an object (defaults are not filled in by the host). */
export function params(input) {
  return input.params ? JSON.parse(input.params) : {};
}

/** The granted endpoint named `name` (of `kind`, when given); throws if none. */
export function endpoint(input, name, kind) {
  const ep = input.endpoints.find((e) => e.name === name && (!kind || e.kind === kind));
  if (!ep) {
    throw new Error(`no ${kind ? kind + ' ' : ''}endpoint ${JSON.stringify(name)} is granted to this check; grant it in grants.endpoints`);
  }
  return ep;
}

/** A capability error as one line: `denied: ...`, `api 404 NotFound: ...`. */
export function errorText(e) {
  const p = e && e.payload !== undefined ? e.payload : e;
  if (p && typeof p === 'object' && 'tag' in p) {
    if (p.tag === 'api') return `HTTP ${p.val.code} ${p.val.reason}: ${p.val.message}`;
    return `${p.tag}: ${p.val}`;
  }
  return String(e && e.message ? e.message : e);
}

/** GET one Kubernetes object as an object. */
export function k8sGet(endpointName, path) {
  return JSON.parse(k8s.get(endpointName, path));
}

/** LIST a collection, every page (500 a page): the items. */
export function k8sList(endpointName, path, { labelSelector, fieldSelector } = {}) {
  const items = [];
  let continueToken;
  do {
    const page = JSON.parse(k8s.list(endpointName, path, { labelSelector, fieldSelector, limit: 500, continueToken }));
    items.push(...(page.items ?? []));
    continueToken = page.metadata?.continue || undefined;
  } while (continueToken);
  return items;
}

/** Collects findings and samples; `build` makes the report, its status the worst
 *  finding's unless given. */
export class ReportBuilder {
  constructor() {
    this.findings = [];
    this.samples = [];
    this.counted = 'ok';
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

  sample(name, help, value, labels = {}) {
    this.samples.push({ name, help, value: Number(value), labels: Object.entries(labels).map(([n, v]) => ({ name: n, value: String(v) })) });
    return this;
  }

  status() {
    return this.counted;
  }

  build(summary, status) {
    return { status: status ?? this.status(), summary, findings: this.findings, samples: this.samples };
  }
}
