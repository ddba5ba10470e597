// One customer's evening, through a client generated from the API
// description (openapi-typescript types + openapi-fetch): register, log
// in, browse movies and shows, hold seats, book with an Idempotency-Key
// (and replay it), pay when the booking waits for payment (with the mock's
// card token, or with PAYMENT_PROVIDER=stripe through Stripe's Payment
// Intents at the stand-in, then a webhook-settled one), list bookings,
// cancel, refresh the token, log out. An admin (made by e2e.sh) first puts
// a movie, a theatre, a screen and a show in the catalog the same way.
//
// Every response is also appended to $OPENAPI_RECORD, so the validation
// of recorded responses covers the client's too. Exits non-zero on the
// first surprise.
import { appendFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './api.js';

type Booking = components['schemas']['Booking'];

const base = process.env.BOOKING_URL;
const record = process.env.OPENAPI_RECORD;
const adminEmail = process.env.ADMIN_EMAIL;
const adminPassword = process.env.ADMIN_PASSWORD;
// The server pays through Stripe (the stand-in in the tests) rather than
// the mock: e2e.sh runs the scenario once with each.
const stripe = process.env.PAYMENT_PROVIDER === 'stripe';
if (!base || !adminEmail || !adminPassword) {
  throw new Error('BOOKING_URL, ADMIN_EMAIL and ADMIN_PASSWORD must be set');
}

function fail(message: string): never {
  throw new Error(message);
}

function check(cond: boolean, message: string): asserts cond {
  if (!cond) fail(message);
}

function step(message: string): void {
  console.log(`  ${message}`);
}

// Appends {method, path, status, headers, body} for validate.mjs.
const recorder: Middleware = {
  async onResponse({ request, response }) {
    if (!record) return undefined;
    const url = new URL(request.url);
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => { headers[name] = value; });
    const body = await response.clone().text();
    appendFileSync(record, `${JSON.stringify({
      method: request.method, path: url.pathname + url.search,
      status: response.status, headers, body,
    })}\n`);
    return undefined;
  },
};

function client(token?: string) {
  const c = createClient<paths>({
    baseUrl: base,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  c.use(recorder);
  return c;
}

async function adminSetup(): Promise<{ showId: number; movieTitle: string }> {
  const anon = client();
  const login = await anon.POST('/api/auth/login', {
    body: { email: adminEmail!, password: adminPassword! },
  });
  check(login.data?.user.role === 'admin', `admin login: ${login.response.status}`);
  const admin = client(login.data.access_token);

  const suffix = randomUUID().slice(0, 8);
  const movieTitle = `Client Scenario ${suffix}`;
  const movie = await admin.POST('/api/movies', {
    body: {
      title: movieTitle, description: 'Made by the generated client.',
      duration_minutes: 101, rating: 'PG', release_date: '2026-01-02',
    },
  });
  check(movie.response.status === 201 && movie.data !== undefined,
    `create movie: ${movie.response.status}`);
  const theatre = await admin.POST('/api/theatres', {
    body: {
      name: `Client Cinema ${suffix}`, city: `Clientville ${suffix}`,
      address: '1 Schema Street', timezone: 'Europe/Berlin',
    },
  });
  check(theatre.data !== undefined, `create theatre: ${theatre.response.status}`);
  const screen = await admin.POST('/api/theatres/{id}/screens', {
    params: { path: { id: theatre.data.id } },
    body: {
      name: 'Screen 1',
      rows: [
        { label: 'A', seats: 8, tier: 'standard', price_cents: 1200 },
        { label: 'B', seats: 8, tier: 'premium', price_cents: 1800 },
      ],
    },
  });
  check(screen.data !== undefined, `create screen: ${screen.response.status}`);
  const start = new Date(Date.now() + 3 * 24 * 3600 * 1000);
  start.setUTCMinutes(0, 0, 0);
  const show = await admin.POST('/api/shows', {
    body: {
      movie_id: movie.data.id, screen_id: screen.data.id,
      start_time: start.toISOString().replace('.000Z', 'Z'),
    },
  });
  check(show.data !== undefined, `create show: ${show.response.status}`);
  step(`admin: movie ${movie.data.id}, theatre ${theatre.data.id}, ` +
    `screen ${screen.data.id}, show ${show.data.id} ` +
    `(${show.data.seats_available} seats)`);
  return { showId: show.data.id, movieTitle };
}

async function main(): Promise<void> {
  const { showId, movieTitle } = await adminSetup();
  const anon = client();

  // Register and log in.
  const email = `client-${randomUUID()}@example.com`;
  const password = 'generated client';
  const reg = await anon.POST('/api/auth/register', {
    body: { name: 'Client', email, password },
  });
  check(reg.response.status === 201 && reg.data !== undefined,
    `register: ${reg.response.status}`);
  step(`register: 201, user ${reg.data.user.id}, role ${reg.data.user.role}`);
  const login = await anon.POST('/api/auth/login', { body: { email, password } });
  check(login.data !== undefined, `login: ${login.response.status}`);
  step(`login: 200, token_type ${login.data.token_type}, expires_in ${login.data.expires_in}`);
  let tokens = login.data;
  let api = client(tokens.access_token);

  // Browse.
  const movies = await anon.GET('/api/movies', {
    params: { query: { q: movieTitle, limit: 5 } },
  });
  check(movies.data !== undefined && movies.data.total === 1,
    `movies: ${movies.response.status} ${JSON.stringify(movies.error)}`);
  const movie = movies.data.data[0]!;
  const one = await anon.GET('/api/movies/{id}', { params: { path: { id: movie.id } } });
  check(one.data?.title === movieTitle, 'movie by id');
  const shows = await anon.GET('/api/movies/{id}/shows', {
    params: { path: { id: movie.id } },
  });
  check(shows.data !== undefined && shows.data.data.some((s) => s.id === showId),
    'the show is listed for its movie');
  const listed = await anon.GET('/api/shows', { params: { query: { movie_id: movie.id } } });
  check(listed.data?.total === 1, 'shows by movie_id');
  const detail = await anon.GET('/api/shows/{id}', { params: { path: { id: showId } } });
  check(detail.data !== undefined, 'show detail');
  step(`browse: movie ${movie.id} "${movie.title}", show ${showId} at ` +
    `${detail.data.theatre.name}, ${detail.data.seats_available} seats free`);

  // Hold two seats side by side.
  const map = await api.GET('/api/shows/{id}/seats', { params: { path: { id: showId } } });
  check(map.data !== undefined, 'seat map');
  const free = map.data.seats.filter((s) => s.status === 'available' && s.row === 'A');
  const seatIds = free.slice(3, 5).map((s) => s.id);
  const hold = await api.POST('/api/holds', { body: { show_id: showId, seat_ids: seatIds } });
  check(hold.response.status === 201 && hold.data !== undefined,
    `hold: ${hold.response.status} ${JSON.stringify(hold.error)}`);
  step(`hold: 201, hold ${hold.data.id} of seats ${hold.data.seat_ids.join(',')} ` +
    `until ${hold.data.expires_at}`);
  const mine = await api.GET('/api/shows/{id}/seats', { params: { path: { id: showId } } });
  check(mine.data!.seats.filter((s) => s.held_by_me).length === 2, 'held_by_me');

  // The best two adjacent premium seats, kept a little longer, then let go.
  const best = await api.POST('/api/holds', {
    body: { show_id: showId, count: 2, tier: 'premium' },
  });
  check(best.response.status === 201 && best.data !== undefined,
    `best-available hold: ${best.response.status} ${JSON.stringify(best.error)}`);
  const extended = await api.POST('/api/holds/{id}/extend', {
    params: { path: { id: best.data.id } },
  });
  check(extended.data !== undefined && extended.data.expires_at >= best.data.expires_at,
    `extend: ${extended.response.status} ${JSON.stringify(extended.error)}`);
  const released = await api.DELETE('/api/holds/{id}', {
    params: { path: { id: best.data.id } },
  });
  check(released.response.status === 204, `release: ${released.response.status}`);
  step(`best 2 premium: 201, hold ${best.data.id} of seats ` +
    `${best.data.seat_ids.join(',')}; extend 200 until ` +
    `${extended.data.expires_at}; release 204`);

  // Book with an Idempotency-Key, then replay it.
  const key = randomUUID();
  const book = await api.POST('/api/bookings', {
    params: { header: { 'Idempotency-Key': key } },
    body: { hold_id: hold.data.id },
  });
  check(book.response.status === 201 && book.data !== undefined,
    `book: ${book.response.status} ${JSON.stringify(book.error)}`);
  let booking: Booking = book.data;
  step(`book: 201, booking ${booking.id}, ${booking.status}, ` +
    `${booking.total_cents} ${booking.currency}`);
  const again = await api.POST('/api/bookings', {
    params: { header: { 'Idempotency-Key': key } },
    body: { hold_id: hold.data.id },
  });
  check(again.data?.id === booking.id &&
    again.response.headers.get('idempotent-replayed') === 'true',
    `replay: ${again.response.status}`);
  step(`book again, same key: ${again.response.status}, Idempotent-Replayed: true, ` +
    `same booking ${again.data.id}`);

  // Pay, when payments are on.
  if (booking.status === 'pending_payment') {
    const init = await api.POST('/api/payments/initiate', {
      params: { header: { 'Idempotency-Key': randomUUID() } },
      body: { booking_id: booking.id },
    });
    check(init.data !== undefined && init.data.status === 'requires_confirmation',
      `initiate: ${init.response.status} ${JSON.stringify(init.error)}`);
    step(`pay: initiate ${init.response.status}, payment ${init.data.id}, ` +
      `${init.data.amount_cents} ${init.data.currency}`);
    if (stripe) {
      // PAYMENT_PROVIDER=stripe: the intent made at the Stripe stand-in,
      // confirmed server-side with Stripe's test card.
      check(init.data.provider === 'stripe' &&
        (init.data.provider_payment_id ?? '').startsWith('pi_') &&
        (init.data.client_secret ?? '').startsWith(`${init.data.provider_payment_id}_secret_`),
      `stripe initiate: ${JSON.stringify(init.data)}`);
      step(`pay: stripe intent ${init.data.provider_payment_id}, client_secret present`);
    }
    const conf = await api.POST('/api/payments/confirm', {
      params: { header: { 'Idempotency-Key': randomUUID() } },
      body: stripe
        ? { payment_id: init.data.id, payment_method: 'pm_card_visa' }
        : { payment_id: init.data.id, card_token: 'tok_visa' },
    });
    check(conf.data?.status === 'succeeded',
      `confirm: ${conf.response.status} ${JSON.stringify(conf.error)}`);
    step(`pay: confirm ${conf.response.status}, payment ${conf.data.status}`);
    const payment = await api.GET('/api/payments/{id}', {
      params: { path: { id: init.data.id } },
    });
    check(payment.data?.status === 'succeeded', 'payment by id');
    const paid = await api.GET('/api/bookings/{id}', { params: { path: { id: booking.id } } });
    check(paid.data?.status === 'confirmed', `paid booking: ${paid.data?.status}`);
    booking = paid.data;
    const payments = await api.GET('/api/bookings/{id}/payments', {
      params: { path: { id: booking.id } },
    });
    check(payments.data?.data.length === 1, 'payments of the booking');
  } else {
    step(`pay: skipped, the booking is ${booking.status} (payments off or not built)`);
  }

  // List, cancel.
  const list = await api.GET('/api/bookings', { params: { query: { limit: 10 } } });
  check(list.data?.data.some((b) => b.id === booking.id) === true, 'bookings list');
  step(`list bookings: ${list.data.total} booking(s), #${booking.id} ${booking.status}`);
  const cancel = await api.POST('/api/bookings/{id}/cancel', {
    params: { path: { id: booking.id } },
  });
  check(cancel.data !== undefined &&
    (cancel.data.status === 'cancelled' || cancel.data.status === 'refunded'),
  `cancel: ${cancel.response.status} ${JSON.stringify(cancel.error)}`);
  step(`cancel: 200, booking ${cancel.data.id} ${cancel.data.status}`);

  // Through Stripe, a second booking paid with 3-D Secure: confirm
  // answers requires_action with Stripe's next_action; the customer
  // authenticates (at the stand-in) and Stripe's signed webhook
  // payment_intent.succeeded confirms the booking.
  if (stripe) {
    const standin = process.env.STRIPE_STANDIN_URL ??
      fail('STRIPE_STANDIN_URL must be set with PAYMENT_PROVIDER=stripe');
    const seats2 = free.slice(5, 7).map((s) => s.id);
    const hold2 = await api.POST('/api/holds', { body: { show_id: showId, seat_ids: seats2 } });
    check(hold2.data !== undefined, `hold 2: ${hold2.response.status}`);
    const book2 = await api.POST('/api/bookings', {
      params: { header: { 'Idempotency-Key': randomUUID() } },
      body: { hold_id: hold2.data.id },
    });
    check(book2.data?.status === 'pending_payment', `book 2: ${book2.response.status}`);
    const init2 = await api.POST('/api/payments/initiate', {
      params: { header: { 'Idempotency-Key': randomUUID() } },
      body: { booking_id: book2.data.id },
    });
    check(init2.data?.provider_payment_id !== undefined,
      `initiate 2: ${init2.response.status} ${JSON.stringify(init2.error)}`);
    const conf2 = await api.POST('/api/payments/confirm', {
      params: { header: { 'Idempotency-Key': randomUUID() } },
      body: { payment_id: init2.data.id, payment_method: 'pm_card_authenticationRequired' },
    });
    check(conf2.response.status === 200 && conf2.data?.status === 'requires_action' &&
      conf2.data.next_action !== undefined,
    `confirm 3-D Secure: ${conf2.response.status} ${JSON.stringify(conf2.data ?? conf2.error)}`);
    step(`pay 3-D Secure: confirm 200, ${conf2.data.status}, next_action ` +
      `${JSON.stringify(conf2.data.next_action).slice(0, 40)}...`);
    const auth = await fetch(`${standin}/__control/intents/` +
      `${init2.data.provider_payment_id}/authenticate`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ result: 'succeed' }),
    });
    check(auth.status === 200, `stand-in authenticate: ${auth.status}`);
    let settled = '';
    for (let i = 0; i < 100 && settled !== 'confirmed'; i++) {
      const b = await api.GET('/api/bookings/{id}', { params: { path: { id: book2.data.id } } });
      settled = b.data?.status ?? `HTTP ${b.response.status}`;
      if (settled !== 'confirmed') await new Promise((r) => setTimeout(r, 100));
    }
    check(settled === 'confirmed', `booking after the webhook: ${settled}`);
    const pay2 = await api.GET('/api/payments/{id}', { params: { path: { id: init2.data.id } } });
    check(pay2.data?.status === 'succeeded', `payment after the webhook: ${pay2.data?.status}`);
    step(`pay 3-D Secure: authenticated; the webhook confirmed booking ${book2.data.id}`);
  }

  // Refresh, log out.
  const refreshed = await anon.POST('/api/auth/refresh', {
    body: { refresh_token: tokens.refresh_token },
  });
  check(refreshed.data !== undefined, `refresh: ${refreshed.response.status}`);
  check(refreshed.data.refresh_token !== tokens.refresh_token, 'a new refresh token');
  tokens = refreshed.data;
  api = client(tokens.access_token);
  step('refresh: 200, a new token pair');
  const me = await api.GET('/api/users/me');
  check(me.data?.email === email, 'me');
  const out = await api.POST('/api/auth/logout', {
    body: { refresh_token: tokens.refresh_token },
  });
  check(out.response.status === 204, `logout: ${out.response.status}`);
  const after = await api.GET('/api/users/me');
  check(after.response.status === 401 && after.error?.error.code === 'unauthorized',
    `after logout: ${after.response.status}`);
  step('logout: 204; the access token is refused afterwards (401 unauthorized)');
}

main().then(() => console.log('client scenario: OK')).catch((e: unknown) => {
  console.error(`client scenario: FAILED: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
