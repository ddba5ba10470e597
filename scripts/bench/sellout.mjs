// Load client for scripts/bench-sellout.sh: a crowd of buyers selling out
// one show through best available. Each of `conns` loops takes the next
// buyer still buying, holds the best 1-4 seats (POST /api/holds {show_id,
// count}) and books the hold (POST /api/bookings {hold_id}); a buyer stops
// at its 10-seat limit, and after a 409 no_adjacent_seats asks for one
// seat; a 409 for one seat means every seat is taken and ends the sale.
// Then, for `soldSecs` seconds, the sold-out show is asked again (count 1)
// to time its 409s. Bounded by `maxSecs` and by the buyers' seat limits.
//
// node sellout.mjs BASE TOKENS SHOW SEATS BUYERS CONNS MAXSECS SOLDSECS OUT
//   prints one RESULT line; writes "booking_id seats" lines of every 201
//   booking to OUT (checked against the database by the caller).
import https from 'node:https';
import fs from 'node:fs';

const [base, tokensFile, showArg, seatsArg, buyersArg, connsArg, maxArg,
    soldArg, outFile] = process.argv.slice(2);
const show = Number(showArg), seats = Number(seatsArg);
const nbuyers = Number(buyersArg), conns = Number(connsArg);
const maxMs = Number(maxArg) * 1000, soldMs = Number(soldArg) * 1000;
const tokens = fs.readFileSync(tokensFile, 'utf8').trim().split('\n')
    .slice(0, nbuyers).map((l) => l.split(' ')[1]);
const agent = new https.Agent({ keepAlive: true, maxSockets: conns,
    rejectUnauthorized: false });
const url = new URL(base);

function call(method, path, token, body, key) {
	const data = JSON.stringify(body);
	const headers = { 'Content-Type': 'application/json',
	    'Content-Length': Buffer.byteLength(data),
	    Authorization: 'Bearer ' + token };
	if (key)
		headers['Idempotency-Key'] = key;
	return new Promise((resolve) => {
		const t0 = process.hrtime.bigint();
		const req = https.request({ host: url.hostname, port: url.port,
		    method, path, headers, agent, timeout: 10000 }, (res) => {
			let buf = '';
			res.setEncoding('utf8');
			res.on('data', (c) => { buf += c; });
			res.on('end', () => {
				let json = null;
				try { json = JSON.parse(buf); } catch (e) {}
				resolve({ status: res.statusCode, json,
				    ms: Number(process.hrtime.bigint() - t0) /
				    1e6 });
			});
		});
		req.on('timeout', () => req.destroy(new Error('timeout')));
		req.on('error', () => resolve({ status: 0, json: null,
		    ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
		req.end(data);
	});
}

function pct(a, p) {
	if (a.length === 0)
		return 0;
	const s = Float64Array.from(a).sort();
	return s[Math.min(s.length - 1, Math.floor(s.length * p / 100))];
}

const buyers = tokens.map((t) => ({ token: t, left: 10, single: false }));
const holdMs = [], bookMs = [], soldOutMs = [];
const counts = { holds: 0, held: 0, booked: 0, bookings: 0, noAdjacent: 0,
    seatLimit: 0, other4xx: 0, s5xx: 0, errors: 0 };
const booked = [];
let next = 0, soldOut = false, t99 = null, keys = 0;
const start = Date.now();

function nextBuyer() {
	for (let i = 0; i < buyers.length; i++) {
		const b = buyers[next++ % buyers.length];
		if (b.left > 0)
			return b;
	}
	return null;
}

function tally(r) {
	if (r.status === 0)
		counts.errors++;
	else if (r.status >= 500)
		counts.s5xx++;
	else if (r.status >= 400 && r.status !== 409)
		counts.other4xx++;
}

async function buyerLoop() {
	while (!soldOut && Date.now() - start < maxMs) {
		const b = nextBuyer();
		if (b === null)
			return;
		const want = b.single ? 1 : Math.min(b.left,
		    1 + Math.floor(Math.random() * 4));
		const h = await call('POST', '/api/holds', b.token,
		    { show_id: show, count: want });
		holdMs.push(h.ms);
		counts.holds++;
		if (h.status === 409) {
			const code = h.json?.error?.code;
			if (code === 'seat_limit') {
				counts.seatLimit++;
				b.left = 0;
			} else if (code === 'no_adjacent_seats') {
				counts.noAdjacent++;
				if (want === 1)
					soldOut = true;
				b.single = true;
			}
			continue;
		}
		if (h.status !== 201) {
			tally(h);
			continue;
		}
		const n = h.json.seat_ids.length;
		counts.held += n;
		b.left -= n;
		const k = await call('POST', '/api/bookings', b.token,
		    { hold_id: h.json.id }, `sellout-${process.pid}-${keys++}`);
		bookMs.push(k.ms);
		if (k.status !== 201) {
			tally(k);
			continue;
		}
		counts.bookings++;
		counts.booked += n;
		booked.push(`${k.json.id} ${k.json.seats.length}`);
		if (t99 === null && counts.booked >= 0.99 * seats)
			t99 = (Date.now() - start) / 1000;
	}
}

async function soldOutLoop(until) {
	let i = 0;
	while (Date.now() < until) {
		const b = buyers[(i++ * 7919) % buyers.length];
		const r = await call('POST', '/api/holds', b.token,
		    { show_id: show, count: 1 });
		soldOutMs.push(r.ms);
		if (r.status === 409 &&
		    r.json?.error?.code === 'no_adjacent_seats')
			counts.soldOut409 = (counts.soldOut409 || 0) + 1;
		else
			counts.soldOutOther = (counts.soldOutOther || 0) + 1;
	}
}

await Promise.all(Array.from({ length: conns }, buyerLoop));
const sellSecs = (Date.now() - start) / 1000;
let soldSecs = 0;
if (soldOut && soldMs > 0) {
	const s0 = Date.now();
	await Promise.all(Array.from({ length: conns },
	    () => soldOutLoop(s0 + soldMs)));
	soldSecs = (Date.now() - s0) / 1000;
}
fs.writeFileSync(outFile, booked.join('\n') + (booked.length ? '\n' : ''));
agent.destroy();

const f = (x) => x.toFixed(1);
console.log(`RESULT seats=${seats} booked=${counts.booked}` +
    ` bookings=${counts.bookings} sold_out=${soldOut ? 1 : 0}` +
    ` secs=${f(sellSecs)} t99_s=${t99 === null ? '-' : f(t99)}` +
    ` holds=${counts.holds} holds_per_s=${(counts.holds / sellSecs).toFixed(0)}` +
    ` hold_p50_ms=${f(pct(holdMs, 50))} hold_p99_ms=${f(pct(holdMs, 99))}` +
    ` book_p50_ms=${f(pct(bookMs, 50))} book_p99_ms=${f(pct(bookMs, 99))}` +
    ` no_adjacent_409=${counts.noAdjacent} seat_limit_409=${counts.seatLimit}` +
    ` other4xx=${counts.other4xx} 5xx=${counts.s5xx} errors=${counts.errors}` +
    ` soldout_asks=${soldOutMs.length}` +
    ` soldout_per_s=${soldSecs ? (soldOutMs.length / soldSecs).toFixed(0) : '-'}` +
    ` soldout_p50_ms=${f(pct(soldOutMs, 50))}` +
    ` soldout_p99_ms=${f(pct(soldOutMs, 99))}` +
    ` soldout_409=${counts.soldOut409 || 0}` +
    ` soldout_other=${counts.soldOutOther || 0}`);
