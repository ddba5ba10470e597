// Cross-checks the routes the server has against the API description,
// both ways: every method of every route in conf/routes/*.conf must be an
// operation of build/openapi.json, and every operation must be routed.
//
// A route's methods come from its handler in src/*.c: the handler hands
// ROUTE_DISPATCH() a `struct route_method` table, whose HTTP_METHOD_*
// entries are the methods it answers (anything else is a 405). A handler
// that checks req->method itself (GET /metrics) answers the HTTP_METHOD_*
// its body names, HEAD counting as GET.
//
// Operations described before the code that answers them has landed are
// listed in NOT_YET_ROUTED; the check prints them, and fails when one of
// them is routed after all (take it off the list then).
//
// The contract, docs/api.md, is checked against the description the same
// way: every "METHOD /path" of ours it names (paths under /api/, and
// /openapi.json, /docs, /redoc, /metrics) must be an operation of the
// description, and every operation must be in the contract, except those
// in DESCRIPTION_ONLY (with the reason). NOT_YET_DESCRIBED lists contract
// routes whose code and description are still to land, as above.
//
// usage: node check-routes.mjs <root> <openapi.json>
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { METHODS, loadDescription } from './describe.mjs';

const NOT_YET_ROUTED = [
  // Empty: payments and seat selection have landed.
];

// Operations of the description the contract implies without naming.
const DESCRIPTION_ONLY = [
  'GET /docs/{file}', // the files the Swagger UI page (GET /docs) loads
];

// Named by the contract; their route and description land with Stripe.
const NOT_YET_DESCRIBED = [];

const [root, descFile] = process.argv.slice(2);
const doc = loadDescription(descFile);
const problems = [];

// "route <path> <handler>" lines; the catch-all "^/" is the JSON 404.
const routes = [];
const routeDir = join(root, 'conf', 'routes');
for (const f of readdirSync(routeDir).filter((n) => n.endsWith('.conf')).sort()) {
  for (const line of readFileSync(join(routeDir, f), 'utf8').split('\n')) {
    const m = line.match(/^\s*route\s+(\S+)\s+(\S+)/);
    if (m && m[1] !== '^/') routes.push({ file: f, path: m[1], handler: m[2] });
  }
}

// A route path as a description template: "^/api/movies/[^/]+$" becomes
// "/api/movies/{}"; the description's "{id}" becomes "{}" likewise.
function routeTemplate(path) {
  if (!path.startsWith('^')) return path;
  const body = path.replace(/^\^/, '').replace(/\$$/, '');
  const t = body.replace(/\[\^\/\]\+|\[0-9\]\+/g, '{}');
  if (/[\\[\]()*+?|^$]/.test(t)) return null;
  return t;
}
const templateKey = (p) => p.replace(/\{[^}]+\}/g, '{}');

// Handler name -> methods, from the C sources.
const sources = readdirSync(join(root, 'src')).filter((n) => n.endsWith('.c'))
  .map((n) => readFileSync(join(root, 'src', n), 'utf8')).join('\n');
function handlerMethods(handler) {
  let d = sources.match(new RegExp(
    `\\n${handler}\\(struct http_request \\*req\\)\\s*\\{\\s*` +
    // an optional guard that hides the whole route (the mock's callback
    // with another provider): `if (...) return (route_not_found(req));`
    `(?:if \\([^\\n]*\\)\\s*return \\(route_not_found\\(req\\)\\);\\s*)?` +
    `return \\(ROUTE_DISPATCH\\(req, (\\w+)\\)\\);`));
  if (!d) {
    const body = sources.match(new RegExp(
      `\\n${handler}\\(struct http_request \\*req\\)\\n\\{\\n([\\s\\S]*?)\\n\\}\\n`));
    if (!body) return null;
    // A guard first (mock-callback is 404 with another provider), then
    // the dispatch: the table still names the methods.
    d = body[1].match(/\n\treturn \(ROUTE_DISPATCH\(req, (\w+)\)\);$/);
    if (!d) {
      const named = [...body[1].matchAll(/HTTP_METHOD_([A-Z]+)/g)]
        .map((m) => (m[1] === 'HEAD' ? 'GET' : m[1]));
      return named.length > 0 ? [...new Set(named)] : null;
    }
  }
  const t = sources.match(new RegExp(
    `struct route_method ${d[1]}\\[\\] = \\{([^}]*)\\}`));
  if (!t) return null;
  return [...t[1].matchAll(/HTTP_METHOD_([A-Z]+)/g)].map((m) => m[1]);
}

const routed = new Set();
for (const r of routes) {
  const t = routeTemplate(r.path);
  if (t === null) {
    problems.push(`${r.file}: route ${r.path}: cannot read it as a path template`);
    continue;
  }
  const methods = handlerMethods(r.handler);
  if (methods === null) {
    problems.push(`${r.file}: route ${r.path}: handler ${r.handler} does not ` +
      'dispatch with ROUTE_DISPATCH(); its methods are unknown');
    continue;
  }
  for (const m of methods) routed.add(`${m} ${templateKey(t)}`);
}

const described = new Map();
for (const [path, item] of Object.entries(doc.paths)) {
  for (const m of METHODS) {
    if (item[m]) described.set(`${m.toUpperCase()} ${templateKey(path)}`,
      `${m.toUpperCase()} ${path}`);
  }
}

for (const op of routed) {
  if (!described.has(op)) problems.push(`routed but not described: ${op}`);
}
const allowance = new Set(NOT_YET_ROUTED.map(templateKey));
const waiting = [];
for (const [key, op] of described) {
  if (routed.has(key)) {
    if (allowance.has(key)) {
      problems.push(`routed now, take it off NOT_YET_ROUTED: ${op}`);
    }
  } else if (allowance.has(key)) {
    waiting.push(op);
  } else {
    problems.push(`described but not routed: ${op}`);
  }
}
for (const op of NOT_YET_ROUTED) {
  if (!described.has(templateKey(op))) {
    problems.push(`NOT_YET_ROUTED names an operation not described: ${op}`);
  }
}

// The contract's operations: "METHOD /path" anywhere in docs/api.md (the
// booking page's "GET /" included).
const contract = new Map();
const contractText = readFileSync(join(root, 'docs', 'api.md'), 'utf8');
for (const m of contractText.matchAll(
  /\b(GET|POST|PUT|PATCH|DELETE) (\/(?:(?:api\/|openapi\.json|docs|redoc|metrics|app\/)[A-Za-z0-9_{}\/.-]*)?)(?=[\s,:;)`]|$)/g)) {
  contract.set(`${m[1]} ${templateKey(m[2])}`, `${m[1]} ${m[2]}`);
}
const descOnly = new Set(DESCRIPTION_ONLY.map(templateKey));
const notDescribed = new Set(NOT_YET_DESCRIBED.map(templateKey));
for (const [key, op] of contract) {
  if (described.has(key)) {
    if (notDescribed.has(key)) {
      problems.push(`described now, take it off NOT_YET_DESCRIBED: ${op}`);
    }
  } else if (notDescribed.has(key)) {
    waiting.push(`${op} (in docs/api.md, not yet described)`);
  } else {
    problems.push(`in docs/api.md but not described: ${op}`);
  }
}
for (const [key, op] of described) {
  if (!contract.has(key) && !descOnly.has(key)) {
    problems.push(`described but not in docs/api.md: ${op}`);
  }
}
for (const op of [...DESCRIPTION_ONLY, ...NOT_YET_DESCRIBED]) {
  const key = templateKey(op);
  if (DESCRIPTION_ONLY.includes(op) && !described.has(key)) {
    problems.push(`DESCRIPTION_ONLY names an operation not described: ${op}`);
  }
  if (NOT_YET_DESCRIBED.includes(op) && !contract.has(key)) {
    problems.push(`NOT_YET_DESCRIBED names an operation not in docs/api.md: ${op}`);
  }
}

console.log(`routes: ${routes.length} routes, ${routed.size} routed operations; ` +
  `${described.size} operations described; ${contract.size} in docs/api.md`);
if (waiting.length > 0) {
  console.log(`not yet routed or described (allowed, ${waiting.length}):`);
  for (const op of waiting) console.log(`  ${op}`);
}
for (const p of problems) console.log(`FAIL ${p}`);
process.exit(problems.length > 0 ? 1 : 0);
