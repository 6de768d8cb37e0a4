// certificates: cert-manager Certificates, Ready and far from expiry.
//
// A vitals check plugin in JavaScript, built with componentize-js
// (scripts/build-plugins):
//
//   componentize-js app.js --wit ../../wit --world-name check -d fetch-event -o certificates.wasm
//
// Reads `cert-manager.io/v1` Certificates over the kubernetes capability (grant
// `kubernetes = ["cert-manager.io/certificates"]`) and judges each:
//   critical  not Ready (after `issuing_grace_seconds` for one being issued);
//             expired, or expiring within `critical_days`
//   warning   expiring within `warning_days`; renewal overdue by more than an hour;
//             not Ready but still within the issuing grace period
import { ReportBuilder, errorText, grantedEndpoint, k8sList, parseParams } from '../../sdk/js/vitals.js';

const DAY = 86400;

const info = {
  name: 'certificates',
  version: '0.1.0',
  description: 'cert-manager Certificates: Ready, and not expiring within warning_days / critical_days',
  params: [
    { name: 'endpoint', kind: 'string', description: 'the kubernetes endpoint', defaultValue: '"kubernetes"', required: false },
    { name: 'namespaces', kind: 'list<string>', description: 'namespaces to check (default: all)', defaultValue: undefined, required: false },
    { name: 'label_selector', kind: 'string', description: 'only Certificates matching this label selector', defaultValue: undefined, required: false },
    { name: 'warning_days', kind: 'number', description: 'expiry within this many days is a warning', defaultValue: '14', required: false },
    { name: 'critical_days', kind: 'number', description: 'expiry within this many days is critical', defaultValue: '2', required: false },
    { name: 'issuing_grace_seconds', kind: 'integer', description: 'a Certificate being issued may be not Ready this long before it is critical', defaultValue: '600', required: false },
  ],
};

function condition(obj, type) {
  return (obj.status?.conditions ?? []).find((c) => c.type === type);
}

/** Seconds from `now` to an RFC 3339 time (negative: in the past), or undefined. */
function secondsUntil(time, now) {
  const t = Date.parse(time ?? '');
  return Number.isNaN(t) ? undefined : (t - now) / 1000;
}

function duration(seconds) {
  const s = Math.abs(seconds);
  if (s >= 2 * DAY) return `${Math.floor(s / DAY)} days`;
  if (s >= 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 60)}m`;
}

function judge(r, cert, p, now) {
  const ns = cert.metadata.namespace;
  const name = cert.metadata.name;
  const subject = `certificate ${ns}/${name}`;
  const what = [cert.spec?.dnsNames?.[0] ?? cert.spec?.commonName, cert.spec?.issuerRef?.name && `issuer ${cert.spec.issuerRef.kind ?? 'Issuer'}/${cert.spec.issuerRef.name}`]
    .filter(Boolean).join(', ');
  const about = what ? ` (${what})` : '';
  let ready = true;

  const readyCond = condition(cert, 'Ready');
  if (readyCond?.status !== 'True') {
    ready = false;
    const why = readyCond ? `${readyCond.reason ?? 'Ready ' + readyCond.status}: ${readyCond.message ?? ''}`.trim() : 'no Ready condition yet';
    const issuing = condition(cert, 'Issuing')?.status === 'True';
    const since = -(secondsUntil(readyCond?.lastTransitionTime ?? cert.metadata.creationTimestamp, now) ?? -Infinity);
    if (issuing && since < p.issuing_grace_seconds) {
      r.finding(subject, 'warning', `being issued, not Ready yet for ${duration(since)}${about}: ${why}`);
    } else {
      r.finding(subject, 'critical', `not Ready${about}: ${why}`);
    }
  }

  const left = secondsUntil(cert.status?.notAfter, now);
  if (left !== undefined) {
    r.sample('expiry_seconds', 'Seconds until the certificate expires (negative: expired)', left, { namespace: ns, name });
    if (left <= 0) {
      r.finding(subject, 'critical', `expired ${duration(left)} ago (notAfter ${cert.status.notAfter})${about}`);
    } else if (left <= p.critical_days * DAY) {
      r.finding(subject, 'critical', `expires in ${duration(left)} (notAfter ${cert.status.notAfter})${about}`);
    } else if (left <= p.warning_days * DAY) {
      r.finding(subject, 'warning', `expires in ${duration(left)} (notAfter ${cert.status.notAfter})${about}`);
    }
  }
  const renewal = secondsUntil(cert.status?.renewalTime, now);
  if (ready && renewal !== undefined && renewal < -3600) {
    r.finding(subject, 'warning', `renewal overdue by ${duration(renewal)} (renewalTime ${cert.status.renewalTime}): check the cert-manager logs and the issuer`);
  }
  return { ready, left };
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
      p = { namespaces: [], warning_days: 14, critical_days: 2, issuing_grace_seconds: 600, ...parseParams(input) };
      ep = grantedEndpoint(input, p.endpoint ?? 'kubernetes', 'kubernetes');
    } catch (e) {
      return ReportBuilder.unknown(e.detail ?? String(e.message ?? e));
    }
    if (p.critical_days > p.warning_days) {
      return ReportBuilder.unknown(`critical_days (${p.critical_days}) is more than warning_days (${p.warning_days})`);
    }
    const paths = p.namespaces.length
      ? p.namespaces.map((ns) => `/apis/cert-manager.io/v1/namespaces/${ns}/certificates`)
      : ['/apis/cert-manager.io/v1/certificates'];
    let certs = [];
    for (const path of paths) {
      try {
        certs = certs.concat(k8sList(ep.name, path, { labelSelector: p.label_selector }));
      } catch (e) {
        const text = errorText(e);
        if (e?.kind === 'api' && e.code === 404) {
          return ReportBuilder.unknown(`cert-manager is not installed (the Certificate resource is not served): ${text}`);
        }
        return ReportBuilder.unknown(`cannot list Certificates: ${text}`);
      }
    }

    const now = Date.now();
    let readyCount = 0;
    let expiring = 0;
    for (const cert of certs) {
      const { ready, left } = judge(r, cert, p, now);
      if (ready) readyCount += 1;
      if (left !== undefined && left <= p.warning_days * DAY) expiring += 1;
    }
    r.sample('certificates', 'Certificates checked', certs.length);
    r.sample('certificates_ready', 'Certificates whose Ready condition is True', readyCount);

    const parts = [`${readyCount}/${certs.length} Certificates Ready`];
    if (expiring) parts.push(`${expiring} expiring within ${p.warning_days} days`);
    return r.finish(parts.join(', '));
  },
};
