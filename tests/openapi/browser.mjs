// The docs pages in a real browser (Debian's chromium, headless, driven by
// puppeteer-core; no browser download): /docs must render every operation
// of the description and "Try it out" on GET /api/movies must show a 200
// from this server, then GET /api/users/me must answer 200 after
// "Authorize" with a Bearer token; /redoc must render every operation.
// Any request to another origin (a CDN) fails the check. Screenshots go to
// the directory given.
//
// usage: BOOKING_URL=... node browser.mjs <outdir> <access token>
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

const base = process.env.BOOKING_URL;
const [outdir, token] = process.argv.slice(2);
const WAIT = { timeout: 60000 };
mkdirSync(outdir, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'booking-chromium-'));

const doc = await (await fetch(`${base}/openapi.json`)).json();
const operations = Object.values(doc.paths).flatMap((item) =>
  Object.keys(item).filter((k) => k !== 'parameters')).length;

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: false,
  acceptInsecureCerts: true,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu',
    '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
    `--user-data-dir=${profile}`, '--window-size=1280,1000'],
});
const foreign = [];
let failed = false;

async function openPage(path) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1000 });
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    const url = req.url();
    if (url.startsWith(base) || url.startsWith('data:') ||
        url.startsWith('blob:')) {
      req.continue();
    } else {
      foreign.push(url);
      req.abort();
    }
  });
  page.on('pageerror', (e) => console.log(`  page error on ${path}: ${e.message}`));
  await page.goto(`${base}${path}`, { waitUntil: 'networkidle0', ...WAIT });
  return page;
}

function expect(cond, message) {
  console.log(`  ${cond ? 'ok' : 'FAIL'} ${message}`);
  if (!cond) failed = true;
}

try {
  // Swagger UI.
  const sw = await openPage('/docs');
  await sw.waitForSelector('.opblock', WAIT);
  const rendered = await sw.$$eval('.opblock', (els) => els.length);
  expect(rendered === operations,
    `/docs renders ${rendered} operations of ${operations} described`);

  const op = '#operations-movies-listMovies';
  await sw.click(`${op} .opblock-summary-control`);
  await sw.waitForSelector(`${op} .try-out__btn`, WAIT);
  await sw.click(`${op} .try-out__btn`);
  await sw.waitForSelector(`${op} .execute`, WAIT);
  await sw.click(`${op} .execute`);
  await sw.waitForSelector(`${op} .live-responses-table tbody .response-col_status`, WAIT);
  const status = await sw.$eval(`${op} .live-responses-table tbody .response-col_status`,
    (el) => el.textContent.trim());
  expect(status.startsWith('200'), `Try it out on GET /api/movies shows ${status}`);
  await sw.$eval(`${op} .live-responses-table`, (el) => el.scrollIntoView());
  await sw.screenshot({ path: join(outdir, 'docs-try-movies.png') });

  // Authorize with the Bearer scheme, then a Bearer-only operation.
  await sw.click('.auth-wrapper .authorize');
  await sw.waitForSelector('.modal-ux input[type=text]', WAIT);
  await sw.type('.modal-ux input[type=text]', token);
  await sw.click('.modal-ux .auth-btn-wrapper .authorize');
  await sw.click('.modal-ux .btn-done');
  const me = '#operations-accounts-getCurrentUser';
  await sw.click(`${me} .opblock-summary-control`);
  await sw.waitForSelector(`${me} .try-out__btn`, WAIT);
  await sw.click(`${me} .try-out__btn`);
  await sw.click(`${me} .execute`);
  await sw.waitForSelector(`${me} .live-responses-table tbody .response-col_status`, WAIT);
  const meStatus = await sw.$eval(`${me} .live-responses-table tbody .response-col_status`,
    (el) => el.textContent.trim());
  expect(meStatus.startsWith('200'),
    `Try it out on GET /api/users/me with Bearer shows ${meStatus}`);
  await sw.$eval(`${me} .live-responses-table`, (el) => el.scrollIntoView());
  await sw.screenshot({ path: join(outdir, 'docs-try-me-bearer.png') });
  await sw.evaluate(() => window.scrollTo(0, 0));
  await sw.screenshot({ path: join(outdir, 'docs.png') });

  // ReDoc.
  const rd = await openPage('/redoc');
  await rd.waitForSelector('[data-section-id^="operation/"]', WAIT);
  const sections = await rd.$$eval('[data-section-id^="operation/"]',
    (els) => new Set(els.map((e) => e.getAttribute('data-section-id'))).size);
  expect(sections === operations,
    `/redoc renders ${sections} operations of ${operations} described`);
  const title = await rd.$eval('h1', (el) => el.textContent.trim());
  expect(title.startsWith('Movie booking API'), `/redoc title "${title}"`);
  await rd.screenshot({ path: join(outdir, 'redoc.png') });

  expect(foreign.length === 0, `no request left the server (${foreign.join(' ') || 'none'})`);
} catch (e) {
  console.log(`  FAIL ${e.message}`);
  failed = true;
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`browser check: ${failed ? 'FAILED' : 'OK'}; screenshots in ${outdir}`);
process.exit(failed ? 1 : 0);
