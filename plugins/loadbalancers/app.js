// loadbalancers: LoadBalancer Services have their external address (whatever
// assigns it: Cilium LB IPAM, MetalLB, a cloud), and the ones traffic depends on
// have exactly the address DNS and firewalls expect.
//
// A vitals check plugin in JavaScript, built with componentize-js
// (scripts/build-plugins). Reads Services over the kubernetes capability (grant
// `kubernetes = ["services"]`) and judges:
//   critical  a `required` Service missing, not of type LoadBalancer, without an
//             address, or with another address than the one expected
//   warning   any other LoadBalancer Service without an address (`all`), or a
//             required one still within `pending_grace_seconds` of its creation
import { ReportBuilder, errorText, grantedEndpoint, k8sList, parseParams } from '../../sdk/js/vitals.js';

const info = {
  name: 'loadbalancers',
  version: '0.1.0',
  description: 'LoadBalancer Services: every one has an external address, the required ones the expected address',
  params: [
    { name: 'endpoint', kind: 'string', description: 'the kubernetes endpoint', defaultValue: '"kubernetes"', required: false },
    { name: 'required', kind: 'table', description: 'Services traffic depends on, "namespace/name" -> expected address ("" for any)', defaultValue: '{}', required: false },
    { name: 'all', kind: 'boolean', description: 'also warn for any other LoadBalancer Service without an address', defaultValue: 'true', required: false },
    { name: 'namespaces', kind: 'list<string>', description: 'namespaces to look at for `all` (default: all)', defaultValue: undefined, required: false },
    { name: 'label_selector', kind: 'string', description: 'only Services matching this label selector for `all`', defaultValue: undefined, required: false },
    { name: 'pending_grace_seconds', kind: 'integer', description: 'a Service created less than this ago may still be waiting for its address', defaultValue: '300', required: false },
  ],
};

/** The addresses the load balancer gave the Service (IPs, else hostnames). */
function addresses(svc) {
  return (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname).filter(Boolean);
}

function key(svc) {
  return `${svc.metadata.namespace}/${svc.metadata.name}`;
}

function age(svc, now) {
  const t = Date.parse(svc.metadata?.creationTimestamp ?? '');
  return Number.isNaN(t) ? Infinity : (now - t) / 1000;
}

export const plugin = {
  describe() {
    return info;
  },

  run(input) {
    const r = new ReportBuilder();
    let p;
    let ep;
    try {
      p = { required: {}, all: true, namespaces: [], pending_grace_seconds: 300, ...parseParams(input) };
      ep = grantedEndpoint(input, p.endpoint ?? 'kubernetes', 'kubernetes');
    } catch (e) {
      return ReportBuilder.unknown(e.detail ?? String(e.message ?? e));
    }
    const bad = Object.keys(p.required).find((k) => !/^[a-z0-9.-]+\/[a-z0-9.-]+$/.test(k));
    if (bad !== undefined) return ReportBuilder.unknown(`required: ${JSON.stringify(bad)} is not "namespace/name"`);

    const paths = p.namespaces.length ? p.namespaces.map((ns) => `/api/v1/namespaces/${ns}/services`) : ['/api/v1/services'];
    const byKey = new Map();
    try {
      for (const path of paths) {
        for (const svc of k8sList(ep.name, path, { labelSelector: p.label_selector })) byKey.set(key(svc), svc);
      }
      // Required Services outside the listed namespaces or selector: read them too.
      for (const k of Object.keys(p.required).filter((k) => !byKey.has(k))) {
        const [ns, name] = k.split('/');
        for (const svc of k8sList(ep.name, `/api/v1/namespaces/${ns}/services`, { fieldSelector: `metadata.name=${name}` })) {
          byKey.set(key(svc), svc);
        }
      }
    } catch (e) {
      return ReportBuilder.unknown(`cannot list Services: ${errorText(e)}`);
    }

    const now = Date.now();
    const worst = [];
    const judge = (subject, status, message) => {
      r.finding(subject, status, message);
      if (status !== 'ok') worst.push({ subject, status, message });
    };
    for (const [k, expected] of Object.entries(p.required)) {
      const svc = byKey.get(k);
      const subject = `service ${k}`;
      if (!svc) {
        judge(subject, 'critical', 'not found: traffic to it has nowhere to go');
        continue;
      }
      if (svc.spec?.type !== 'LoadBalancer') {
        judge(subject, 'critical', `of type ${svc.spec?.type ?? 'ClusterIP'}, not LoadBalancer: it has no external address`);
        continue;
      }
      const got = addresses(svc);
      if (!got.length) {
        const young = age(svc, now) < p.pending_grace_seconds;
        judge(subject, young ? 'warning' : 'critical', `no external address${young ? ' yet (created ' + Math.floor(age(svc, now)) + ' s ago)' : ''}: the load balancer has not assigned one`);
      } else if (expected && !got.includes(expected)) {
        judge(subject, 'critical', `has ${got.join(', ')}, expected ${expected}: DNS and firewalls point elsewhere`);
      } else {
        judge(subject, 'ok', got.join(', ') + (expected ? ' (as expected)' : ''));
      }
    }

    const lbs = [...byKey.values()].filter((s) => s.spec?.type === 'LoadBalancer');
    let assigned = 0;
    for (const svc of lbs) {
      const got = addresses(svc);
      if (got.length) assigned += 1;
      r.sample('address_assigned', '1 when the LoadBalancer Service has an external address', got.length ? 1 : 0,
        { namespace: svc.metadata.namespace, service: svc.metadata.name });
      if (p.all && !got.length && !(key(svc) in p.required)) {
        judge(`service ${key(svc)}`, 'warning', 'no external address: the load balancer has not assigned one (is the address pool exhausted?)');
      }
    }
    r.sample('services', 'LoadBalancer Services seen', lbs.length);
    r.sample('services_with_address', 'LoadBalancer Services with an external address', assigned);

    const order = { critical: 0, warning: 1 };
    worst.sort((a, b) => order[a.status] - order[b.status]);
    let summary = `${assigned}/${lbs.length} LoadBalancer Services with an address`;
    if (worst.length) summary += `; ${worst[0].subject}: ${worst[0].message}`;
    return r.finish(summary);
  },
};
