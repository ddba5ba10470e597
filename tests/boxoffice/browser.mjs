// The booking page (GET /) in a real browser: Debian's chromium, headless,
// driven by puppeteer-core, one browser with a private context per buyer.
//
// - A buyer registers, picks a show, clicks two seats, holds, books, pays
//   with the mock's tok_visa and sees the booking; a second buyer watching
//   the same show sees those seats turn taken within 1 s, without reload.
// - "Best 4 together" holds 4 side-by-side seats (at 360 px wide);
//   double-clicking Book makes one booking (the API says so); a declined
//   card (tok_chargeDeclined) is shown and the seats stay reserved; a
//   second card pays; the booking is cancelled from "My bookings".
// - Keyboard only: register, pick, choose seats, hold, book and pay
//   without the mouse.
// - A hold left alone lapses (HOLD_TTL_SECONDS is short in this run): the
//   page says it expired and its seats are available again.
// - axe-core finds no serious or critical violation; the page is served
//   with its Content-Security-Policy and nothing breaks it; no request
//   leaves the origin. Screenshots go to the directory given.
//
// usage: BOOKING_URL=... ADMIN_EMAIL=... ADMIN_PASSWORD=... node browser.mjs <outdir>
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

const base = process.env.BOOKING_URL;
const [outdir] = process.argv.slice(2);
const WAIT = { timeout: 20000 };
const DEADLINE_MS = 150000;
mkdirSync(outdir, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'booking-chromium-'));
const axeSource = readFileSync(createRequire(import.meta.url)
  .resolve('axe-core/axe.min.js'), 'utf8');
const run = Math.random().toString(36).slice(2, 8);

let failed = false;
function expect(cond, message) {
  console.log(`  ${cond ? 'ok' : 'FAIL'} ${message}`);
  if (!cond) failed = true;
}

// ---- the API, for the catalog and for checking what the page did

async function call(method, path, token, body, headers = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers,
      ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function tokenOf(email, password) {
  const r = await call('POST', '/api/auth/login', null, { email, password });
  if (r.status !== 200) throw new Error(`login ${email}: ${r.status}`);
  return r.body.access_token;
}

async function setup() {
  const admin = await tokenOf(process.env.ADMIN_EMAIL, process.env.ADMIN_PASSWORD);
  const movie = await call('POST', '/api/movies', admin, {
    title: `Box Office Test ${run}`, description: 'For the browser test.',
    duration_minutes: 95, rating: 'PG', release_date: '2026-01-02' });
  const city = `Boxville ${run}`;
  const theatre = await call('POST', '/api/theatres', admin, {
    name: `Box Cinema ${run}`, city, address: '1 Test Street',
    timezone: 'Europe/Berlin' });
  const rows = ['A', 'B', 'C', 'D', 'E', 'F'].map((label, i) => ({
    label, seats: 12, tier: i >= 4 ? 'premium' : 'standard',
    price_cents: i >= 4 ? 1500 : 1000, aisles_after: [3, 9] }));
  const screen = await call('POST', `/api/theatres/${theatre.body.id}/screens`,
    admin, { name: 'Screen 1', rows });
  const shows = [];
  for (let day = 1; day <= 4; day++) {
    const start = new Date(Date.now() + day * 24 * 3600 * 1000);
    start.setUTCMinutes(0, 0, 0);
    const s = await call('POST', '/api/shows', admin, {
      movie_id: movie.body.id, screen_id: screen.body.id,
      start_time: start.toISOString().replace('.000Z', 'Z') });
    if (s.status !== 201) throw new Error(`create show: ${s.status}`);
    shows.push(s.body.id);
  }
  return { city, title: movie.body.title, shows };
}

// ---- the browser

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: false,
  acceptInsecureCerts: true,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu',
    '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
    '--disable-renderer-backgrounding', '--disable-background-timer-throttling',
    `--user-data-dir=${profile}`],
});
const deadline = setTimeout(async () => {
  console.log(`  FAIL the browser test ran past ${DEADLINE_MS / 1000} s`);
  await browser.close().catch(() => {});
  process.exit(1);
}, DEADLINE_MS);
const foreign = [];
const cspErrors = [];
const pages = [];

async function openApp(name, width) {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  await page.setViewport({ width, height: width < 500 ? 780 : 1000 });
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    const url = req.url();
    if (url.startsWith(base) || url.startsWith('data:') || url.startsWith('blob:')) {
      req.continue();
    } else {
      foreign.push(url);
      req.abort();
    }
  });
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspErrors.push(`${name}: ${m.text()}`);
  });
  page.on('pageerror', (e) => console.log(`  page error (${name}): ${e.message}`));
  pages.push([name, page]);
  await page.goto(`${base}/`, { waitUntil: 'networkidle0', ...WAIT });
  await page.waitForSelector('body[data-ready=true]', WAIT);
  return page;
}

const password = 'a good long password';
async function registerUI(page, name) {
  const email = `${name.toLowerCase()}-${run}@example.com`;
  await page.type('#register-form input[name=name]', name);
  await page.type('#register-form input[name=email]', email);
  await page.type('#register-form input[name=password]', password);
  await page.click('#register-form button[type=submit]');
  await page.waitForSelector('#signed-in:not([hidden])', WAIT);
  return email;
}

async function pickShow(page, cat, showId) {
  await page.waitForSelector(`#city option[value="${cat.city}"]`, WAIT);
  await page.select('#city', cat.city);
  await page.waitForFunction((t) => [...document.querySelectorAll('#movie option')]
    .some((o) => o.textContent === t), WAIT, cat.title);
  const movieId = await page.$$eval('#movie option', (os, t) =>
    os.find((o) => o.textContent === t).value, cat.title);
  await page.select('#movie', movieId);
  await page.waitForSelector(`#show option[value="${showId}"]`, WAIT);
  await page.select('#show', String(showId));
  await liveMap(page, showId);
}

async function liveMap(page, showId) {
  await page.waitForSelector(`#seatmap[data-show-id="${showId}"] .seat`, WAIT);
  await page.waitForFunction(() => document.getElementById('live-status')
    .textContent.startsWith('Live: '), WAIT);
}

const seatSel = (row, n) => `.seat[data-row="${row}"][data-number="${n}"]`;
const seatId = (page, row, n) => page.$eval(seatSel(row, n), (e) => Number(e.dataset.seatId));
const states = (page, ids) => page.evaluate((ids) => ids.map((id) =>
  document.querySelector(`.seat[data-seat-id="${id}"]`).dataset.state), ids);

async function axe(page, label) {
  await page.evaluate(axeSource);
  const res = await page.evaluate(() => window.axe.run(document,
    { resultTypes: ['violations'] }));
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.length === 0, `axe-core on ${label}: no serious or critical violations` +
    (bad.length ? ` (${bad.map((v) => `${v.id}: ${v.nodes.length}`).join(', ')})` : ''));
}

// Keyboard only: Tab (forward) until the focus is on what `selector` names.
async function tabTo(page, selector, max = 60) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector))
      return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${selector}`);
}

// Keyboard only: a closed <select> takes the arrow keys.
async function chooseByKeys(page, selector, value) {
  await tabTo(page, selector);
  for (let i = 0; i < 30; i++) {
    if (await page.$eval(selector, (e) => e.value) === value) return;
    await page.keyboard.press('ArrowDown');
  }
  throw new Error(`${selector} never took ${value}`);
}

try {
  const cat = await setup();
  const [showBuy, showBest, showKeys, showLapse] = cat.shows;

  // Started first, checked last: a hold left to lapse.
  const lapse = await openApp('lapse', 1280);
  const lapseEmail = await registerUI(lapse, 'Lapse');
  await pickShow(lapse, cat, showLapse);
  await lapse.$eval('#best-count', (e) => { e.value = '2'; });
  await lapse.click('#best-btn');
  await lapse.waitForSelector('#hold-section:not([hidden])', WAIT);
  const lapseSeats = await lapse.$$eval('.seat[data-state=yours]',
    (es) => es.map((e) => Number(e.dataset.seatId)));
  expect(lapseSeats.length === 2, `a hold of 2 to lapse (${lapseSeats})`);

  // Also in the background: a hold kept alive with "Extend" until the
  // cap (3 lifetimes) stops it: the button is then disabled and says why.
  const keeper = await openApp('keeper', 1280);
  await registerUI(keeper, 'Keeper');
  await pickShow(keeper, cat, showLapse);
  await keeper.click('#best-btn');
  await keeper.waitForSelector('#hold-section:not([hidden])', WAIT);
  const keptFrom = Date.now();
  const kept = (async () => {
    let extended = 0;
    try {
    while (Date.now() - keptFrom < 100000) {
      await new Promise((ok) => setTimeout(ok, 6000));
      if (await keeper.$eval('#extend', (b) => b.disabled)) break;
      await keeper.click('#extend');
      await keeper.waitForFunction(() => document.getElementById('hold-msg')
        .textContent !== '', WAIT);
      if (await keeper.$eval('#extend', (b) => b.disabled)) break;
      extended++;
      await keeper.$eval('#hold-msg', (e) => { e.textContent = ''; });
    }
    return { extended, took: Date.now() - keptFrom,
      msg: await keeper.$eval('#hold-msg', (e) => e.textContent),
      state: await keeper.$eval('#hold-section', (e) => e.dataset.state) };
    } catch (e) {
      return { extended, took: Date.now() - keptFrom, msg: e.message, state: 'error' };
    }
  })();

  // 1. A buyer with the mouse; a watcher on the same show.
  const buyer = await openApp('buyer', 1280);
  await registerUI(buyer, 'Buyer');
  await pickShow(buyer, cat, showBuy);
  const watcher = await openApp('watcher', 1280);
  await registerUI(watcher, 'Watcher');
  await pickShow(watcher, cat, showBuy);
  const picked = [await seatId(buyer, 'C', 5), await seatId(buyer, 'C', 6)];
  await watcher.evaluate((ids) => {
    window.takenAt = {};
    new MutationObserver(() => {
      for (const id of ids) {
        const e = document.querySelector(`.seat[data-seat-id="${id}"]`);
        if (e.dataset.state === 'taken' && !window.takenAt[id]) window.takenAt[id] = Date.now();
      }
    }).observe(document.getElementById('seatmap'), { subtree: true, attributes: true });
  }, picked);
  await buyer.click(seatSel('C', 5));
  await buyer.click(seatSel('C', 6));
  expect((await states(buyer, picked)).every((s) => s === 'selected'),
    'two clicked seats are selected');
  const held = buyer.waitForResponse((r) => r.url().endsWith('/api/holds') &&
    r.request().method() === 'POST');
  // From the click on: an upper bound on the time since the hold was made.
  const sentAt = Date.now();
  await buyer.click('#hold-btn');
  const holdRes = await held;
  expect(holdRes.status() === 201, `hold answered ${holdRes.status()}`);
  await buyer.waitForSelector('#hold-section:not([hidden])', WAIT);
  expect((await states(buyer, picked)).every((s) => s === 'yours'), 'held seats are shown as yours');
  expect(await buyer.$eval('#countdown', (e) => e.getAttribute('aria-live')) === 'polite' &&
    /held for/.test(await buyer.$eval('#countdown', (e) => e.textContent)),
    'the countdown is announced (aria-live)');
  await watcher.waitForFunction((ids) => ids.every((id) => window.takenAt[id]), WAIT, picked)
    .catch(() => {});
  const seenAt = await watcher.evaluate(() => Math.max(...Object.values(window.takenAt)));
  expect(Number.isFinite(seenAt) && seenAt - sentAt <= 1000,
    `the watcher saw both seats taken at most ${seenAt - sentAt} ms after the hold ` +
    '(counted from the click that asked for it), without reload');
  const drawn = await watcher.$eval(`.seat[data-seat-id="${picked[0]}"]`, (e) => ({
    label: e.getAttribute('aria-label'), mark: e.querySelector('.seat-mark').getAttribute('d') }));
  expect(/taken$/.test(drawn.label) && drawn.mark !== '',
    `a taken seat says so in its label and is drawn with a cross, not by colour alone (${drawn.label})`);
  await buyer.screenshot({ path: join(outdir, 'boxoffice-held.png') });
  // The seat map alone, as in docs/box-office.png.
  await (await buyer.$('#seats-section')).screenshot({ path: join(outdir, 'boxoffice-seatmap.png') });
  await buyer.click('#book');
  await buyer.waitForSelector('#pay-section:not([hidden])', WAIT);
  await buyer.click('#pay');
  await buyer.waitForFunction(() => /Paid: booking \d+ is confirmed/.test(
    document.getElementById('notice').textContent), WAIT);
  await buyer.waitForSelector('#bookings li[data-status=confirmed]', WAIT);
  expect(true, 'the buyer paid with tok_visa and sees the confirmed booking');
  await watcher.waitForFunction((ids) => ids.every((id) => document.querySelector(
    `.seat[data-seat-id="${id}"]`).dataset.status === 'booked'), WAIT, picked);
  expect(true, 'the watcher sees the seats booked');
  await buyer.screenshot({ path: join(outdir, 'boxoffice-desktop.png'), fullPage: true });
  await watcher.screenshot({ path: join(outdir, 'boxoffice-watcher.png') });
  await axe(buyer, 'the page after a purchase (desktop)');

  // 2. At 360 px: best 4 together, a double click on Book, a decline.
  const phone = await openApp('phone', 360);
  const phoneEmail = await registerUI(phone, 'Phone');
  await pickShow(phone, cat, showBest);
  await phone.$eval('#best-count', (e) => { e.value = ''; });
  await phone.type('#best-count', '4');
  await phone.click('#best-btn');
  await phone.waitForSelector('#hold-section:not([hidden])', WAIT);
  const four = await phone.$$eval('.seat[data-state=yours]', (es) =>
    es.map((e) => ({ row: e.dataset.row, n: Number(e.dataset.number) })));
  const nums = four.map((s) => s.n).sort((a, b) => a - b);
  expect(four.length === 4 && four.every((s) => s.row === four[0].row) &&
    nums.every((n, i) => i === 0 || n === nums[i - 1] + 1) &&
    !nums.slice(0, -1).some((n) => n === 3 || n === 9),
    `best 4 together are side by side, no aisle between (${four[0]?.row} ${nums})`);
  const fit = await phone.evaluate(() => ({ width: document.documentElement.clientWidth,
    right: Math.max(...[...document.querySelectorAll('section')]
      .map((e) => e.getBoundingClientRect().right)) }));
  expect(fit.right <= fit.width, `at 360 px every section fits the width ` +
    `(right edge ${Math.round(fit.right)} of ${fit.width} px; the seat map alone scrolls)`);
  await phone.screenshot({ path: join(outdir, 'boxoffice-360-held.png'), fullPage: true });
  await axe(phone, 'the page with a hold (360 px)');
  let bookCalls = 0;
  phone.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/api/bookings')) bookCalls++;
  });
  await phone.click('#book', { clickCount: 2 });
  await phone.evaluate(() => { const b = document.getElementById('book');
    b.click(); b.click(); });
  await phone.waitForSelector('#pay-section:not([hidden])', WAIT);
  const phoneToken = await tokenOf(phoneEmail, password);
  const mine = await call('GET', '/api/bookings?limit=100', phoneToken);
  const onShow = mine.body.data.filter((b) => b.show_id === showBest);
  expect(onShow.length === 1 && bookCalls === 1,
    `clicking Book twice made ${onShow.length} booking(s) with ${bookCalls} request(s)`);
  await phone.click('input[value=tok_chargeDeclined]');
  await phone.click('#pay');
  await phone.waitForFunction(() => /declined/i.test(
    document.getElementById('pay-msg').textContent), WAIT);
  const after = await call('GET', `/api/bookings/${onShow[0]?.id}`, phoneToken);
  const seats = await call('GET', `/api/shows/${showBest}/seats`, phoneToken);
  const ids = new Set(after.body.seats.map((s) => s.id));
  expect(after.body.status === 'pending_payment' &&
    seats.body.seats.filter((s) => ids.has(s.id)).every((s) => s.status !== 'available') &&
    await phone.$eval('#pay-section', (e) => !e.hidden) &&
    /stay reserved/.test(await phone.$eval('#pay-msg', (e) => e.textContent)),
    'a declined card is shown, the seats stay reserved and Pay is offered again');
  await phone.screenshot({ path: join(outdir, 'boxoffice-360-declined.png'), fullPage: true });
  await phone.click('input[value=tok_visa]');
  await phone.click('#pay');
  await phone.waitForSelector('#bookings li[data-status=confirmed]', WAIT);
  await phone.$eval('#bookings li[data-status=confirmed] button', (b) => b.scrollIntoView());
  await phone.click('#bookings li[data-status=confirmed] button');
  // Cancelled at once, its refund pending until the outbox delivers it;
  // the page reads the list again until the refund is confirmed.
  await phone.waitForSelector('#bookings li[data-status=cancelled][data-refund=pending], ' +
    '#bookings li[data-status=refunded]', WAIT);
  await phone.waitForSelector('#bookings li[data-status=refunded][data-refund=succeeded]', WAIT);
  expect(true, 'a second card paid, and the booking was cancelled from My bookings, ' +
    'refunded once the provider confirmed');

  // 3. Keyboard only.
  const keys = await openApp('keyboard', 1280);
  await tabTo(keys, '#register-form input[name=name]');
  await keys.keyboard.type('Keys');
  await keys.keyboard.press('Tab');
  await keys.keyboard.type(`keys-${run}@example.com`);
  await keys.keyboard.press('Tab');
  await keys.keyboard.type(password);
  await keys.keyboard.press('Enter');
  await keys.waitForSelector('#signed-in:not([hidden])', WAIT);
  await chooseByKeys(keys, '#city', cat.city);
  await keys.waitForFunction((t) => [...document.querySelectorAll('#movie option')]
    .some((o) => o.textContent === t), WAIT, cat.title);
  const movieValue = await keys.$$eval('#movie option', (os, t) =>
    os.find((o) => o.textContent === t).value, cat.title);
  await chooseByKeys(keys, '#movie', movieValue);
  await keys.waitForSelector(`#show option[value="${showKeys}"]`, WAIT);
  await chooseByKeys(keys, '#show', String(showKeys));
  await liveMap(keys, showKeys);
  await tabTo(keys, '.seat');
  const target = [await seatId(keys, 'B', 1), await seatId(keys, 'B', 2)];
  await keys.keyboard.press('ArrowDown');
  await keys.keyboard.press('Home');
  await keys.keyboard.press('Space');
  await keys.keyboard.press('ArrowRight');
  await keys.keyboard.press('Enter');
  expect((await states(keys, target)).every((s) => s === 'selected'),
    'arrow keys, Space and Enter select B1 and B2');
  await tabTo(keys, '#hold-btn');
  await keys.keyboard.press('Enter');
  await keys.waitForSelector('#hold-section:not([hidden])', WAIT);
  await tabTo(keys, '#book');
  await keys.keyboard.press('Enter');
  await keys.waitForSelector('#pay-section:not([hidden])', WAIT);
  await tabTo(keys, '#pay');
  await keys.keyboard.press('Enter');
  await keys.waitForSelector('#bookings li[data-status=confirmed]', WAIT);
  expect(true, 'keyboard only: registered, chose seats, held, booked and paid');
  await keys.screenshot({ path: join(outdir, 'boxoffice-keyboard.png') });

  // 4. The hold left alone has lapsed by now (or does so shortly).
  await lapse.waitForSelector('#hold-section[data-state=expired]', { timeout: 40000 });
  await lapse.waitForFunction((ids) => ids.every((id) => document.querySelector(
    `.seat[data-seat-id="${id}"]`).dataset.state === 'available'), WAIT, lapseSeats);
  const lapseToken = await tokenOf(lapseEmail, password);
  const free = await call('GET', `/api/shows/${showLapse}/seats`, lapseToken);
  const said = await lapse.$eval('#countdown', (e) => e.textContent);
  const now = free.body.seats.filter((s) => lapseSeats.includes(s.id)).map((s) => s.status);
  expect(/expired/.test(said) && now.every((s) => s === 'available'),
    `a lapsed hold is shown as expired and its seats are free again ("${said}"; API: ${now})`);
  await lapse.screenshot({ path: join(outdir, 'boxoffice-expired.png') });

  const k = await kept;
  expect(k.extended >= 2 && k.state === 'held' && /cannot be extended/.test(k.msg),
    `"Extend" kept a hold ${k.extended} times, then stopped at the cap after ` +
    `${Math.round(k.took / 1000)} s ("${k.msg}")`);
  await keeper.screenshot({ path: join(outdir, 'boxoffice-extend-cap.png') });

  const headers = readFileSync(join(outdir, 'headers.txt'), 'utf8');
  const csp = headers.match(/^content-security-policy: (.*)$/im)?.[1] ?? '';
  expect(/default-src 'self'/.test(csp) && /connect-src 'self' wss:\/\/127\.0\.0\.1:\d+/.test(csp) &&
    !/stripe/.test(csp), `the page's CSP: ${csp}`);
  expect(cspErrors.length === 0, `nothing broke the CSP (${cspErrors.join(' | ') || 'none'})`);
  expect(foreign.length === 0, `no request left the server (${foreign.join(' ') || 'none'})`);
} catch (e) {
  console.log(`  FAIL ${e.stack ?? e.message}`);
  failed = true;
  // What each page was saying when it went wrong.
  for (const [name, page] of pages) {
    const said = await page.evaluate(() => ['account-msg', 'select-msg', 'hold-msg',
      'pay-msg', 'notice', 'live-status'].map((id) =>
      `${id}: ${document.getElementById(id)?.textContent ?? ''}`).join(' | '))
      .catch((err) => err.message);
    console.log(`  ${name}: ${said}`);
  }
} finally {
  clearTimeout(deadline);
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`box office check: ${failed ? 'FAILED' : 'OK'}; screenshots in ${outdir}`);
process.exit(failed ? 1 : 0);
