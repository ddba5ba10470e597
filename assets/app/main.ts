// The box office: pick a city, a movie and a show; see the seat map move
// live; hold seats (picked, or the best N together) with a countdown and
// an extend button; book with an Idempotency-Key; pay; list and cancel
// one's bookings. Every call goes through the generated client
// (session.ts); the page keeps no state the API does not have, except the
// selection not yet held.
import { SeatMap, money, type SeatState, type SeatView } from './seatmap.js';
import {
  api, accessToken, apiError, authed, currentUser, idempotencyKey, login,
  logout, onSessionChange, refresh, register, type ApiError, type Schemas,
} from './session.js';

type Show = Schemas['Show'];
type Hold = Schemas['Hold'];
type Booking = Schemas['Booking'];
type Payment = Schemas['Payment'] & { provider?: string; client_secret?: string };

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} missing`);
  return e as T;
};

const state: {
  show: Show | null;
  map: SeatMap | null;
  socket: WebSocket | null;
  socketTries: number;
  mine: Set<number>;
  hold: Hold | null;
  bookKey: string | null;
  booking: Booking | null;
  timer: number;
  lastSpoken: number;
  asked: { movies: number; shows: number; show: number };
  config: { payment_provider: string; stripe_publishable_key: string | null };
} = { show: null, map: null, socket: null, socketTries: 0, mine: new Set(), hold: null,
  bookKey: null, booking: null, timer: 0, lastSpoken: -1,
  asked: { movies: 0, shows: 0, show: 0 },
  config: { payment_provider: 'mock', stripe_publishable_key: null } };

function say(id: string, text: string, kind: 'info' | 'error' = 'info'): void {
  const e = $(id);
  e.textContent = text;
  e.dataset['kind'] = kind;
}

function fail(id: string, e: ApiError): void {
  say(id, `${e.message} (${e.code})`, 'error');
}

function option(value: string, text: string): HTMLOptionElement {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  return o;
}

function when(iso: string, zone?: string): string {
  return new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short',
    timeZone: zone }).format(new Date(iso));
}

// ---- account

function showSession(): void {
  const u = currentUser();
  $('signed-out').hidden = u !== null;
  $('signed-in').hidden = u === null;
  $('bookings-section').hidden = u === null;
  $('who').textContent = u ? `${u.name} (${u.email})` : '';
  if (u) void loadBookings();
  if (state.show) void openShow(state.show.id);
}

async function onLogin(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  const f = ev.target as HTMLFormElement;
  const d = new FormData(f);
  const err = await login(String(d.get('email')), String(d.get('password')));
  if (err) fail('account-msg', err); else { say('account-msg', 'Signed in.'); f.reset(); }
}

async function onRegister(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  const f = ev.target as HTMLFormElement;
  const d = new FormData(f);
  const err = await register(String(d.get('name')), String(d.get('email')),
    String(d.get('password')));
  if (err) fail('account-msg', err); else { say('account-msg', 'Account created; signed in.'); f.reset(); }
}

// ---- city, movie, show

// A select moved by the arrow keys asks once per option it passes: only
// the answer to the latest question of each kind is drawn.
type Asked = keyof typeof state.asked;
function ask(kind: Asked): () => boolean {
  const n = ++state.asked[kind];
  return () => state.asked[kind] === n;
}

async function loadCities(): Promise<void> {
  const { data } = await api.GET('/api/theatres', { params: { query: { limit: 100 } } });
  const cities = [...new Set((data?.data ?? []).map((t) => t.city))].sort();
  const sel = $<HTMLSelectElement>('city');
  sel.replaceChildren(option('', 'Choose a city'), ...cities.map((c) => option(c, c)));
}

async function loadMovies(): Promise<void> {
  const city = $<HTMLSelectElement>('city').value;
  const sel = $<HTMLSelectElement>('movie');
  const latest = ask('movies');
  $<HTMLSelectElement>('show').replaceChildren(option('', 'Choose a movie first'));
  if (!city) { sel.replaceChildren(option('', 'Choose a city first')); return; }
  const { data } = await api.GET('/api/movies', { params: { query: { city, limit: 100 } } });
  if (!latest()) return;
  sel.replaceChildren(option('', 'Choose a movie'),
    ...(data?.data ?? []).map((m) => option(String(m.id), m.title)));
}

async function loadShows(): Promise<void> {
  const city = $<HTMLSelectElement>('city').value;
  const movie = Number($<HTMLSelectElement>('movie').value);
  const sel = $<HTMLSelectElement>('show');
  const latest = ask('shows');
  if (!movie) { sel.replaceChildren(option('', 'Choose a movie first')); return; }
  const { data } = await api.GET('/api/movies/{id}/shows',
    { params: { path: { id: movie }, query: { city, limit: 100 } } });
  if (!latest()) return;
  const shows = (data?.data ?? []).filter((s) => new Date(s.start_time) > new Date());
  sel.replaceChildren(option('', shows.length ? 'Choose a show' : 'No upcoming shows'),
    ...shows.map((s) => option(String(s.id),
      `${when(s.start_time, s.theatre.timezone)} · ${s.theatre.name}`)));
}

// ---- the seat map and its live stream

async function openShow(id: number): Promise<void> {
  const latest = ask('show');
  const { data: show } = await api.GET('/api/shows/{id}', { params: { path: { id } } });
  if (!show || !latest()) return;
  if (state.show?.id !== show.id) state.mine = new Set();
  state.show = show;
  const [seats, theatre] = await Promise.all([
    authed(() => api.GET('/api/shows/{id}/seats', { params: { path: { id } } })),
    api.GET('/api/theatres/{id}', { params: { path: { id: show.theatre.id } } }),
  ]);
  if (!seats.data || !latest()) return;
  const screen = theatre.data?.screens.find((s) => s.id === show.screen_id);
  const map = new SeatMap($('seatmap'), show.currency);
  map.onToggle = toggleSeat;
  map.draw(seats.data.seats, screen?.rows ?? []);
  state.map = map;
  $('seatmap').dataset['showId'] = String(show.id);
  $('show-info').textContent = `${show.movie.title} · ${show.theatre.name}, ` +
    `${show.theatre.city} · ${when(show.start_time, show.theatre.timezone)}` +
    (screen ? ` · ${screen.name}` : '');
  drawLegend(seats.data.seats, show.currency);
  $('seats-section').hidden = false;
  updateSelection();
  connectLive();
}

function drawLegend(seats: Schemas['Seat'][], currency: string): void {
  const tiers = new Map<string, number>();
  for (const s of seats) tiers.set(s.tier, s.price_cents);
  const ul = $('tiers');
  ul.replaceChildren(...[...tiers].map(([tier, cents]) => {
    const li = document.createElement('li');
    li.className = `tier-${tier.replace(/[^a-z0-9-]/gi, '')}`;
    li.textContent = `${tier}: ${money(cents, currency)}`;
    return li;
  }));
}

function connectLive(): void {
  state.socket?.close();
  state.socket = null;
  const token = accessToken();
  if (!state.show || token === null) {
    say('live-status', 'Sign in to see seats change live.');
    return;
  }
  const showId = state.show.id;
  say('live-status', 'Connecting to live updates…');
  const ws = new WebSocket(`wss://${location.host}/api/shows/${showId}/seats/live`,
    ['bearer', token]);
  state.socket = ws;
  ws.onopen = () => { state.socketTries = 0; say('live-status', 'Live: seats update as others book.'); };
  ws.onmessage = (m) => {
    const ev = JSON.parse(String(m.data)) as { type: string; show_id: number;
      seats: { id: number; status: SeatState }[] };
    if (ev.show_id !== state.show?.id || !state.map) return;
    for (const s of ev.seats) {
      if (s.status === 'available') state.mine.delete(s.id);
      state.map.setStatus(s.id, s.status, state.mine.has(s.id));
    }
    updateSelection();
  };
  ws.onclose = (e) => {
    if (state.socket !== ws) return;
    state.socket = null;
    say('live-status', 'Live updates paused; reconnecting…');
    // A closed socket (an expired token is 1008) comes back, a bounded
    // number of times in a row, with a fresh token if need be.
    if (state.socketTries++ < 5)
      window.setTimeout(async () => {
        if (e.code === 1008) await refresh();
        if (state.show?.id === showId) connectLive();
      }, 1000 * state.socketTries);
  };
}

function toggleSeat(v: SeatView): void {
  if (state.hold) {
    say('select-msg', 'Release or book your hold to choose other seats.', 'error');
    return;
  }
  if (v.status !== 'available') {
    say('select-msg', `Row ${v.seat.row}, seat ${v.seat.number} is taken.`, 'error');
    return;
  }
  v.selected = !v.selected;
  state.map?.paint(v);
  updateSelection();
}

function updateSelection(): void {
  const sel = state.map?.selected() ?? [];
  const total = sel.reduce((n, v) => n + v.seat.price_cents, 0);
  $('selection').textContent = sel.length === 0 ? 'No seats selected.' :
    `Selected: ${sel.map((v) => `${v.seat.row}${v.seat.number}`).join(', ')} · ` +
    money(total, state.show?.currency ?? 'EUR');
  $<HTMLButtonElement>('hold-btn').disabled = sel.length === 0 || state.hold !== null;
}

// ---- holds

async function holdSelected(): Promise<void> {
  if (!state.show || !state.map) return;
  if (!currentUser()) { say('select-msg', 'Sign in to hold seats.', 'error'); return; }
  const seat_ids = state.map.selected().map((v) => v.seat.id);
  const show_id = state.show.id;
  const r = await authed(() => api.POST('/api/holds', { body: { show_id, seat_ids } }));
  if (!r.data) return fail('select-msg', apiError(r.error, r.response));
  startHold(r.data);
}

async function holdBest(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  if (!state.show) return;
  if (!currentUser()) { say('select-msg', 'Sign in to hold seats.', 'error'); return; }
  if (state.hold) { say('select-msg', 'Release or book your hold first.', 'error'); return; }
  const count = Number($<HTMLInputElement>('best-count').value);
  const show_id = state.show.id;
  const r = await authed(() => api.POST('/api/holds', { body: { show_id, count } }));
  if (!r.data) return fail('select-msg', apiError(r.error, r.response));
  startHold(r.data);
}

function startHold(h: Hold): void {
  state.hold = h;
  state.bookKey = idempotencyKey();
  state.map?.clearSelection();
  for (const id of h.seat_ids) {
    state.mine.add(id);
    state.map?.setStatus(id, 'held', true);
  }
  const names = h.seat_ids.map((id) => state.map?.seats.get(id)).filter((v) => v)
    .map((v) => `${v!.seat.row}${v!.seat.number}`);
  $('hold-seats').textContent = `Seats ${names.join(', ')}`;
  $('hold-section').hidden = false;
  $('hold-section').dataset['state'] = 'held';
  $<HTMLButtonElement>('extend').disabled = false;
  $<HTMLButtonElement>('book').disabled = false;
  say('hold-msg', '');
  say('select-msg', '');
  state.lastSpoken = -1;
  window.clearInterval(state.timer);
  state.timer = window.setInterval(tick, 1000);
  tick();
  updateSelection();
}

// The clock shows every second; the live region speaks each minute, then
// at 30 and 10 seconds, so a screen reader is told without being flooded.
function tick(): void {
  if (!state.hold) return;
  const left = Math.max(0, Math.ceil((Date.parse(state.hold.expires_at) - Date.now()) / 1000));
  const mmss = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
  $('clock').textContent = mmss;
  const speak = left === 0 || left === 10 || left === 30 || (left % 60 === 0);
  if (state.lastSpoken === -1 || (speak && left !== state.lastSpoken)) {
    state.lastSpoken = left;
    $('countdown').textContent = left > 0 ?
      `Your seats are held for ${Math.floor(left / 60)} min ${left % 60} s.` : '';
  }
  if (left === 0) expireHold();
}

function expireHold(): void {
  const seats = state.hold?.seat_ids ?? [];
  endHold();
  for (const id of seats) {
    state.mine.delete(id);
    state.map?.setStatus(id, 'available', false);
  }
  $('hold-section').hidden = false;
  $('hold-section').dataset['state'] = 'expired';
  $('countdown').textContent = 'Your hold expired; the seats are free again.';
  $('clock').textContent = 'expired';
  $<HTMLButtonElement>('book').disabled = true;
  $<HTMLButtonElement>('extend').disabled = true;
  say('hold-msg', 'Hold expired. Choose seats again.', 'error');
  if (state.show) void openShow(state.show.id);
}

function endHold(): void {
  window.clearInterval(state.timer);
  state.hold = null;
  state.bookKey = null;
  updateSelection();
}

async function extendHold(): Promise<void> {
  const h = state.hold;
  if (!h) return;
  const r = await authed(() => api.POST('/api/holds/{id}/extend', { params: { path: { id: h.id } } }));
  if (r.data) {
    state.hold = r.data;
    state.lastSpoken = -1;
    tick();
    say('hold-msg', `Extended until ${when(r.data.expires_at)}.`);
    return;
  }
  const e = apiError(r.error, r.response);
  if (e.code === 'hold_renewal_limit') {
    $<HTMLButtonElement>('extend').disabled = true;
    say('hold-msg', 'This hold cannot be extended any further.', 'error');
  } else if (e.code === 'hold_expired') {
    expireHold();
  } else {
    fail('hold-msg', e);
  }
}

async function releaseHold(): Promise<void> {
  const h = state.hold;
  if (!h) return;
  await authed(() => api.DELETE('/api/holds/{id}', { params: { path: { id: h.id } } }));
  for (const id of h.seat_ids) {
    state.mine.delete(id);
    state.map?.setStatus(id, 'available', false);
  }
  endHold();
  $('hold-section').hidden = true;
}

// ---- booking and payment

// One key per hold: a second click (or a retry after a lost answer)
// replays the first booking instead of making another.
async function book(): Promise<void> {
  const h = state.hold, key = state.bookKey;
  const btn = $<HTMLButtonElement>('book');
  if (!h || !key || btn.disabled) return;
  btn.disabled = true;
  const r = await authed(() => api.POST('/api/bookings',
    { body: { hold_id: h.id }, params: { header: { 'Idempotency-Key': key } } }));
  if (!r.data) {
    btn.disabled = false;
    return fail('hold-msg', apiError(r.error, r.response));
  }
  window.clearInterval(state.timer);
  state.hold = null;
  state.booking = r.data;
  $('hold-section').hidden = true;
  for (const s of r.data.seats) state.map?.setStatus(s.id, 'booked', true);
  void loadBookings();
  if (r.data.status === 'pending_payment') showPayment(r.data);
  else say('notice', `Booking ${r.data.id} is confirmed.`);
  updateSelection();
}

function showPayment(b: Booking): void {
  state.booking = b;
  $('pay-section').hidden = false;
  $('pay-amount').textContent = `Booking ${b.id}: ${money(b.total_cents, b.currency)}` +
    (b.payment_due_at ? `, seats reserved until ${when(b.payment_due_at)}` : '');
  $('mock-cards').hidden = state.config.payment_provider === 'stripe';
  say('pay-msg', '');
  $<HTMLButtonElement>('pay').disabled = false;
}

async function pay(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  const b = state.booking;
  const btn = $<HTMLButtonElement>('pay');
  if (!b || btn.disabled) return;
  btn.disabled = true;
  say('pay-msg', 'Paying…');
  const init = await authed(() => api.POST('/api/payments/initiate',
    { body: { booking_id: b.id },
      params: { header: { 'Idempotency-Key': idempotencyKey() } } }));
  if (!init.data) {
    btn.disabled = false;
    return fail('pay-msg', apiError(init.error, init.response));
  }
  const p = init.data as Payment;
  if (p.provider === 'stripe') return payWithStripe(p);
  const card = String(new FormData(ev.target as HTMLFormElement).get('card')) as
    'tok_visa' | 'tok_chargeDeclined';
  const conf = await authed(() => api.POST('/api/payments/confirm',
    { body: { payment_id: p.id, card_token: card },
      params: { header: { 'Idempotency-Key': idempotencyKey() } } }));
  if (conf.data) return paid(b);
  btn.disabled = false;
  const e = apiError(conf.error, conf.response);
  if (e.code === 'payment_declined')
    say('pay-msg', `Card declined: ${e.message} Your seats stay reserved` +
      (b.payment_due_at ? ` until ${when(b.payment_due_at)}` : '') +
      '; try another card.', 'error');
  else fail('pay-msg', e);
}

function paid(b: Booking): void {
  $('pay-section').hidden = true;
  state.booking = null;
  say('notice', `Paid: booking ${b.id} is confirmed.`);
  void loadBookings();
}

// Stripe: Stripe.js confirms the intent in the browser with its
// client_secret; the webhook then confirms the booking. Kept small, and
// not covered by the tests here (they run the mock gateway offline).
interface StripeJs {
  elements(): { create(t: string): { mount(el: HTMLElement): void } };
  confirmCardPayment(secret: string, data: object): Promise<{ error?: { message: string } }>;
}
let stripeCard: unknown = null;
async function payWithStripe(p: Payment): Promise<void> {
  const key = state.config.stripe_publishable_key;
  if (!key || !p.client_secret) return say('pay-msg', 'Stripe is not configured.', 'error');
  const w = window as unknown as { Stripe?: (k: string) => StripeJs };
  if (!w.Stripe) {
    await new Promise((ok, ko) => {
      const s = document.createElement('script');
      s.src = 'https://js.stripe.com/v3/';
      s.onload = ok; s.onerror = ko;
      document.head.append(s);
    });
  }
  const stripe = w.Stripe!(key);
  if (!stripeCard) {
    stripeCard = stripe.elements().create('card');
    (stripeCard as { mount(el: HTMLElement): void }).mount($('stripe-card'));
    $<HTMLButtonElement>('pay').disabled = false;
    return say('pay-msg', 'Enter your card, then press Pay again.');
  }
  const r = await stripe.confirmCardPayment(p.client_secret, { payment_method: { card: stripeCard } });
  $<HTMLButtonElement>('pay').disabled = false;
  if (r.error) return say('pay-msg', r.error.message, 'error');
  if (state.booking) paid(state.booking);
}

// ---- my bookings

// A cancelled booking's refund is delivered after the cancel (the outbox):
// while one is pending the list is read again, every 2 s, 30 times at most.
let refundPolls = 0;
let refundTimer: number | undefined;

async function loadBookings(): Promise<void> {
  if (!currentUser()) return;
  const r = await authed(() => api.GET('/api/bookings', { params: { query: { limit: 20 } } }));
  const ul = $('bookings');
  if (!r.data) return;
  ul.replaceChildren(...r.data.data.map((b) => {
    const li = document.createElement('li');
    li.dataset['bookingId'] = String(b.id);
    li.dataset['status'] = b.status;
    const seats = b.seats.map((s) => `${s.row}${s.number}`).join(', ');
    const refund = b.refund_status ?? null;
    if (refund) li.dataset['refund'] = refund;
    li.append(`Booking ${b.id} · show ${b.show_id} · seats ${seats} · ` +
      `${money(b.total_cents, b.currency)} · ${b.status.replace('_', ' ')}` +
      (refund === 'pending' ? ' · refund pending' :
        refund === 'failed' ? ' · refund failed: contact us' : '') + ' ');
    if (b.status === 'pending_payment') {
      const p = document.createElement('button');
      p.type = 'button';
      p.textContent = `Pay booking ${b.id}`;
      p.onclick = () => showPayment(b);
      li.append(p, ' ');
    }
    if (b.status === 'pending_payment' || b.status === 'confirmed') {
      const c = document.createElement('button');
      c.type = 'button';
      c.textContent = `Cancel booking ${b.id}`;
      c.onclick = () => void cancel(b.id, c);
      li.append(c);
    }
    return li;
  }));
  if (r.data.data.length === 0) ul.replaceChildren(Object.assign(
    document.createElement('li'), { textContent: 'No bookings yet.' }));
  window.clearTimeout(refundTimer);
  if (r.data.data.some((b) => b.refund_status === 'pending') && refundPolls < 30) {
    refundPolls++;
    refundTimer = window.setTimeout(() => void loadBookings(), 2000);
  } else {
    refundPolls = 0;
  }
}

async function cancel(id: number, btn: HTMLButtonElement): Promise<void> {
  btn.disabled = true;
  const r = await authed(() => api.POST('/api/bookings/{id}/cancel', { params: { path: { id } } }));
  if (!r.data) { btn.disabled = false; return fail('notice', apiError(r.error, r.response)); }
  say('notice', `Booking ${id} is ${r.data.status}.`);
  if (state.booking?.id === id) $('pay-section').hidden = true;
  await loadBookings();
}

// ---- start

async function start(): Promise<void> {
  $('login-form').addEventListener('submit', (e) => void onLogin(e as SubmitEvent));
  $('register-form').addEventListener('submit', (e) => void onRegister(e as SubmitEvent));
  $('logout').addEventListener('click', () => void logout());
  $('city').addEventListener('change', () => void loadMovies());
  $('movie').addEventListener('change', () => void loadShows());
  $('show').addEventListener('change', () => {
    const id = Number($<HTMLSelectElement>('show').value);
    if (id) void openShow(id);
  });
  $('hold-btn').addEventListener('click', () => void holdSelected());
  $('best-form').addEventListener('submit', (e) => void holdBest(e as SubmitEvent));
  $('extend').addEventListener('click', () => void extendHold());
  $('release').addEventListener('click', () => void releaseHold());
  $('book').addEventListener('click', () => void book());
  $('pay-form').addEventListener('submit', (e) => void pay(e as SubmitEvent));
  $('refresh-bookings').addEventListener('click', () => void loadBookings());
  onSessionChange(showSession);
  const cfg = await fetch('/app/config.json').then((r) => r.json()).catch(() => null);
  if (cfg) state.config = cfg;
  await refresh();
  showSession();
  await loadCities();
  document.body.dataset['ready'] = 'true';
}

void start();
