// Validates recorded responses against the API description: each line of
// the record (tests/support/client.c with $OPENAPI_RECORD, or the client
// scenario) is {method, path, status, headers, body}. For its path
// template, method and status the description must have a response; a JSON
// body must match that response's schema (Ajv, JSON Schema 2020-12, every
// format checked), a response without content must have no body, and its
// required headers must be there. Two answers hold for every path and are
// stated in info.description instead of on each operation: a path the
// description lacks is 404 not_found, a method it lacks 405
// method_not_allowed with Allow; both carry the error envelope.
//
// usage: node validate.mjs <openapi.json> <record.jsonl>...
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { deref, loadDescription, matchPath, pathMatchers } from './describe.mjs';

// Paths that answer 404 rather than 405 to other methods, so as not to
// show they exist (GET /metrics outside METRICS_ALLOW; the mock's
// callback with another PAYMENT_PROVIDER).
const HIDDEN = ['/metrics', '/api/payments/mock-callback'];

const [descFile, ...records] = process.argv.slice(2);
const doc = loadDescription(descFile);
const matchers = pathMatchers(doc);

const ajv = new Ajv2020({ strict: true, strictTypes: false });
addFormats(ajv);
// OpenAPI's own annotation; not a JSON Schema keyword.
ajv.addKeyword({ keyword: 'example' });
// The wrapper that holds the components for $ref.
ajv.addKeyword({ keyword: 'components' });
ajv.addSchema({ $id: 'openapi.json', components: doc.components });
const validators = new Map();
function validatorFor(key, schema) {
  if (!validators.has(key)) {
    // Local refs point into the description's components.
    const text = JSON.stringify(schema).replace(/"#\/components\//g,
      '"openapi.json#/components/');
    validators.set(key, ajv.compile(JSON.parse(text)));
  }
  return validators.get(key);
}
const envelope = { $ref: '#/components/schemas/Error' };

// Allow must name exactly the described methods (HEAD and OPTIONS aside).
function allowMismatch(template, allow) {
  if (!allow) return 'no Allow header';
  const got = allow.split(',').map((m) => m.trim().toLowerCase())
    .filter((m) => m !== 'head' && m !== 'options').sort().join(',');
  const want = Object.keys(doc.paths[template])
    .filter((k) => k !== 'parameters').sort().join(',');
  return got === want ? null : `Allow "${allow}" but described: ${want}`;
}

let total = 0;
const failures = [];
const seen = new Map();
const covered = new Set();
const described = Object.values(doc.paths).flatMap((item) =>
  Object.keys(item).filter((k) => k !== 'parameters')).length;

function check(rec) {
  const method = rec.method === 'HEAD' ? 'get' : rec.method.toLowerCase();
  const m = matchPath(matchers, rec.path);
  let schema;
  let key;
  let headers = {};
  let content = null;

  if (m !== null && rec.method === 'OPTIONS') {
    // Stated in info.description: 204, Allow naming the described methods.
    if (rec.status !== 204) return `OPTIONS answered ${rec.status}`;
    if (rec.body) return 'OPTIONS with a body';
    return allowMismatch(m.template, rec.headers.allow);
  }
  if (m === null) {
    if (rec.status !== 404) return `path not described (status ${rec.status})`;
    key = '404 on an undescribed path';
    schema = envelope;
    content = true;
  } else if (!doc.paths[m.template][method]) {
    if (rec.status === 404 && HIDDEN.includes(m.template)) {
      key = `404 ${m.template} (hidden)`;
      schema = envelope;
      content = true;
    } else if (rec.status !== 405) {
      return `${rec.method} not described on ${m.template} (status ${rec.status})`;
    } else {
      const bad = allowMismatch(m.template, rec.headers.allow);
      if (bad) return bad;
      key = `405 ${m.template}`;
      schema = envelope;
      content = true;
    }
  } else {
    const op = doc.paths[m.template][method];
    covered.add(`${method} ${m.template}`);
    const resp = deref(doc, op.responses[String(rec.status)]);
    key = `${rec.method === 'HEAD' ? 'GET' : rec.method} ${m.template} ${rec.status}`;
    if (!resp) return `status ${rec.status} not described for ${key}`;
    headers = resp.headers ?? {};
    const media = resp.content?.['application/json'];
    if (resp.content && !media) {
      // A non-JSON answer (the docs pages): its type must be described.
      const type = (rec.headers['content-type'] ?? '').split(';')[0];
      if (!resp.content[type]) return `content type ${type} not described`;
    } else if (media) {
      schema = media.schema;
      content = true;
    } else if (rec.body) {
      return `a body where none is described: ${rec.body.slice(0, 80)}`;
    }
  }
  seen.set(key, (seen.get(key) ?? 0) + 1);

  for (const [name, h] of Object.entries(headers)) {
    const hd = deref(doc, h);
    if (hd.required && rec.headers[name.toLowerCase()] === undefined) {
      return `${key}: required header ${name} missing`;
    }
  }
  if (rec.headers['x-request-id'] === undefined) return `${key}: no X-Request-Id`;
  if (content && rec.method !== 'HEAD' && rec.status !== 304) {
    if (rec.body === null) return `${key}: body is not UTF-8`;
    const type = rec.headers['content-type'] ?? '';
    if (!type.startsWith('application/json')) return `${key}: content-type ${type}`;
    let body;
    try {
      body = JSON.parse(rec.body);
    } catch {
      return `${key}: body is not JSON: ${rec.body.slice(0, 80)}`;
    }
    const v = validatorFor(key.replace(/^\d{3} /, ''), schema);
    if (!v(body)) {
      return `${key}: ${ajv.errorsText(v.errors)}; body ${rec.body.slice(0, 300)}`;
    }
  }
  return null;
}

for (const file of records) {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l);
  for (const line of lines) {
    const rec = JSON.parse(line);
    total++;
    const why = check(rec);
    if (why) failures.push(`${rec.method} ${rec.path.slice(0, 120)} -> ${rec.status}: ${why}`);
  }
}

const shown = new Map();
for (const f of failures) {
  const k = f.replace(/\/[0-9]+/g, '/N').replace(/; body .*/, '');
  if (!shown.has(k)) shown.set(k, f);
}
for (const f of shown.values()) console.log(`FAIL ${f}`);
console.log(`responses: ${total} validated against ${descFile}, ` +
  `${failures.length} failed; ${seen.size} distinct (operation, status) seen, ` +
  `${covered.size} of ${described} operations answered`);
process.exit(failures.length > 0 || total === 0 ? 1 : 0);
