// Shared by the checks of the API description: loading it, and matching a
// request path to the description's path templates.
import { readFileSync } from 'node:fs';

export const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head',
  'options', 'trace'];

export function loadDescription(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

// "/api/movies/{id}/shows" -> RegExp; literal templates win over
// parameterised ones (the most literal characters first).
export function pathMatchers(doc) {
  return Object.keys(doc.paths).map((template) => {
    const source = template.split(/(\{[^}]+\})/).map((part) =>
      part.startsWith('{') ? '([^/]+)'
        : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('');
    return {
      template,
      re: new RegExp(`^${source}$`),
      literal: template.replace(/\{[^}]+\}/g, '').length,
    };
  }).sort((a, b) => b.literal - a.literal);
}

export function matchPath(matchers, path) {
  const bare = path.split('?')[0];
  return matchers.find((m) => m.re.test(bare)) ?? null;
}

// Resolves a local "$ref" (only these are used in the description).
export function deref(doc, obj) {
  let o = obj;
  while (o && o.$ref) {
    o = o.$ref.replace(/^#\//, '').split('/').reduce((acc, key) =>
      acc[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  }
  return o;
}
