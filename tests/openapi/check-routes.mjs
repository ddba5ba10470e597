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
// usage: node check-routes.mjs <root> <openapi.json>
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { METHODS, loadDescription } from './describe.mjs';

const NOT_YET_ROUTED = [
  // Empty: payments and seat selection have landed.
];

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
    `\\n${handler}\\(struct http_request \\*req\\)\\s*\\{\\s*return \\(ROUTE_DISPATCH\\(req, (\\w+)\\)\\);`));
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

console.log(`routes: ${routes.length} routes, ${routed.size} routed operations; ` +
  `${described.size} operations described`);
if (waiting.length > 0) {
  console.log(`described, not yet routed (allowed, ${waiting.length}):`);
  for (const op of waiting) console.log(`  ${op}`);
}
for (const p of problems) console.log(`FAIL ${p}`);
process.exit(problems.length > 0 ? 1 : 0);
