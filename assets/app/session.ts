// The data layer: the generated OpenAPI client (openapi-fetch over the
// types openapi-typescript made from /openapi.json at build time) and the
// signed-in session. The access token lives in memory only; the refresh
// token, which the API rotates on every use (POST /api/auth/refresh), is
// kept in sessionStorage so a reload of this tab stays signed in and
// closing the tab forgets it. A 401 is retried once after a refresh.
import createClient from './openapi-fetch.js';
import type { components, paths } from './api.js';

export type Schemas = components['schemas'];
export type User = Schemas['User'];

const REFRESH_KEY = 'boxoffice.refresh_token';

let access: string | null = null;
let user: User | null = null;
let refreshing: Promise<boolean> | null = null;
const listeners: Array<(u: User | null) => void> = [];

export const api = createClient<paths>({ baseUrl: location.origin });
api.use({
  onRequest({ request }) {
    if (access !== null && !request.headers.has('Authorization'))
      request.headers.set('Authorization', `Bearer ${access}`);
    return request;
  },
});

export function currentUser(): User | null { return user; }
export function accessToken(): string | null { return access; }
export function onSessionChange(f: (u: User | null) => void): void {
  listeners.push(f);
}

type Pair = Schemas['Session'];

function adopt(pair: Pair): void {
  access = pair.access_token;
  user = pair.user;
  sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
  listeners.forEach((f) => f(user));
}

function forget(): void {
  access = null;
  user = null;
  sessionStorage.removeItem(REFRESH_KEY);
  listeners.forEach((f) => f(null));
}

// The message of an API error body ({error: {code, message}}).
export interface ApiError { code: string; message: string }
export function apiError(body: unknown, response: Response): ApiError {
  const e = (body as { error?: ApiError } | undefined)?.error;
  if (e && typeof e.code === 'string') return e;
  return { code: 'http_' + response.status, message: `The server answered ${response.status}.` };
}

export async function register(name: string, email: string,
    password: string): Promise<ApiError | null> {
  const { data, error, response } = await api.POST('/api/auth/register',
    { body: { name, email, password } });
  if (data) { adopt(data); return null; }
  return apiError(error, response);
}

export async function login(email: string, password: string):
    Promise<ApiError | null> {
  const { data, error, response } = await api.POST('/api/auth/login',
    { body: { email, password } });
  if (data) { adopt(data); return null; }
  return apiError(error, response);
}

export async function logout(): Promise<void> {
  const refresh_token = sessionStorage.getItem(REFRESH_KEY);
  if (access !== null)
    await api.POST('/api/auth/logout', { body: { refresh_token } });
  forget();
}

// One refresh at a time: concurrent 401s wait for the same rotation.
export function refresh(): Promise<boolean> {
  const refresh_token = sessionStorage.getItem(REFRESH_KEY);
  if (refresh_token === null) return Promise.resolve(false);
  if (refreshing === null) {
    refreshing = api.POST('/api/auth/refresh', { body: { refresh_token } })
      .then(({ data }) => {
        if (data) { adopt(data); return true; }
        forget();
        return false;
      })
      .catch(() => false)
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

// A call made on the user's behalf: after a 401, refresh once and retry.
export async function authed<R extends { response: Response }>(
    call: () => Promise<R>): Promise<R> {
  const first = await call();
  if (first.response.status !== 401 || !(await refresh())) return first;
  return call();
}

// A fresh Idempotency-Key (visible ASCII, well under 255 characters).
export function idempotencyKey(): string {
  return `boxoffice-${crypto.randomUUID()}`;
}
