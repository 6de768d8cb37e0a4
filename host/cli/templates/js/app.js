// {{name}}: a vitals check plugin in JavaScript.
//
// GETs `path` on every URL of the granted http endpoint `endpoint`: an answer
// below 400 is ok; another status, or none, is critical. `fetch` goes through the
// host, which lets it reach only the granted endpoints.
import { ReportBuilder, grantedEndpoint, parseParams } from './sdk/vitals.js';

export const plugin = {
  describe() {
    return {
      name: '{{name}}',
      version: '0.1.0',
      description: 'GET `path` on every URL of an http endpoint',
      params: [
        { name: 'endpoint', kind: 'string', description: 'the http endpoint to probe', defaultValue: '"service"', required: false },
        { name: 'path', kind: 'string', description: 'the path to GET', defaultValue: '"/healthz"', required: false },
      ],
    };
  },

  async run(input) {
    const r = new ReportBuilder();
    let p;
    let ep;
    try {
      p = { endpoint: 'service', path: '/healthz', ...parseParams(input) };
      ep = grantedEndpoint(input, p.endpoint, 'http');
    } catch (e) {
      return ReportBuilder.unknown(e.detail ?? String(e.message ?? e));
    }
    let up = 0;
    for (const url of ep.urls) {
      try {
        const resp = await fetch(url.replace(/\/$/, '') + p.path);
        if (resp.status < 400) {
          up += 1;
          r.finding(url, 'ok', `HTTP ${resp.status}`);
        } else {
          r.finding(url, 'critical', `HTTP ${resp.status}`);
        }
      } catch (e) {
        r.finding(url, 'critical', `unreachable: ${e.message ?? e}`);
      }
    }
    r.sample('up', 'URLs that answered below 400', up);
    return r.finish(`${up}/${ep.urls.length} URLs answered`);
  },
};
