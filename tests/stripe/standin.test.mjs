// The stand-in speaks Stripe's protocol: driven here by the OFFICIAL
// `stripe` npm client (form encoding, error classes, idempotency headers,
// retries and timeouts are the client's own), and its webhooks checked with
// the official stripe.webhooks.constructEvent. Run by scripts/test.sh
// (part stripe-standin): node --test tests/stripe/standin.test.mjs
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';

const here = path.dirname(fileURLToPath(import.meta.url));
const KEY = 'sk_test_standin';
const WHSEC = 'whsec_standin_test_0123456789abcdef';

let child, port, receiver;
const received = [];	// {header, body, event|error}

function client(extra = {}) {
	return new Stripe(KEY, { host: '127.0.0.1', port, protocol: 'http',
	    maxNetworkRetries: 0, timeout: 5000, ...extra });
}

async function control(p, body) {
	const r = await fetch(`http://127.0.0.1:${port}/__control/${p}`,
	    body === undefined ? {} : { method: 'POST', body:
	    JSON.stringify(body), headers: { 'content-type':
	    'application/json' } });
	return { status: r.status, json: await r.json() };
}

async function stats() {
	return (await control('stats')).json;
}

// Waits (bounded) until `n` webhooks arrived at the receiver.
async function arrived(n, ms = 5000) {
	const until = Date.now() + ms;
	while (received.length < n && Date.now() < until)
		await new Promise((r) => setTimeout(r, 20));
	return received.length;
}

before(async () => {
	receiver = http.createServer((req, res) => {
		let body = '';
		req.setEncoding('utf8');
		req.on('data', (c) => { body += c; });
		req.on('end', () => {
			const header = req.headers['stripe-signature'];
			const got = { header, body };
			try {
				got.event = Stripe.webhooks.constructEvent(body, header,
				    WHSEC);
			} catch (e) {
				got.error = e;
			}
			received.push(got);
			res.writeHead(got.error ? 400 : 200,
			    { 'content-type': 'application/json' });
			res.end(got.error ? '{"error":"bad"}' : '{"received":true}');
		});
	});
	await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
	const hook = `http://127.0.0.1:${receiver.address().port}/hook`;
	child = spawn(process.execPath, [path.join(here, 'standin.mjs'),
	    '--port', '0', '--secret-key', KEY, '--webhook-url', hook,
	    '--webhook-secret', WHSEC], { stdio: ['ignore', 'pipe', 'inherit'] });
	port = await new Promise((resolve, reject) => {
		let out = '';
		const t = setTimeout(() => reject(new Error('no start')), 20000);
		child.stdout.on('data', (c) => {
			out += c;
			const m = /standin listening on (\d+)/.exec(out);
			if (m) {
				clearTimeout(t);
				resolve(Number(m[1]));
			}
		});
		child.on('exit', (c) => reject(new Error(`exited ${c}`)));
	});
});

after(async () => {
	child.kill('SIGTERM');
	await new Promise((r) => receiver.close(r));
});

beforeEach(async () => {
	assert.equal((await control('reset', {})).status, 200);
	received.length = 0;
});

const base = { amount: 1200, currency: 'eur',
    metadata: { booking_id: '12', payment_id: '34' },
    automatic_payment_methods: { enabled: true } };

test('create and retrieve answer Stripe\'s PaymentIntent shape', async () => {
	const s = client();
	const pi = await s.paymentIntents.create(base);
	assert.match(pi.id, /^pi_/);
	assert.equal(pi.object, 'payment_intent');
	assert.equal(pi.amount, 1200);
	assert.equal(pi.currency, 'eur');
	assert.equal(pi.status, 'requires_payment_method');
	assert.ok(pi.client_secret.startsWith(`${pi.id}_secret_`));
	assert.deepEqual(pi.metadata, { booking_id: '12', payment_id: '34' });
	assert.equal(pi.livemode, false);
	assert.equal(pi.latest_charge, null);
	assert.equal(pi.next_action, null);
	assert.equal(typeof pi.created, 'number');
	const again = await s.paymentIntents.retrieve(pi.id);
	assert.equal(again.id, pi.id);
	assert.deepEqual(again.metadata, pi.metadata);
	await assert.rejects(s.paymentIntents.retrieve('pi_missing'),
	    (e) => e.type === 'StripeInvalidRequestError' &&
	    e.statusCode === 404 && e.code === 'resource_missing');
	const st = await stats();
	assert.equal(st.intents_created, 1);
	assert.equal(st.calls.create_intent, 1);
	assert.equal(st.calls.retrieve_intent, 2);
});

test('create refuses bad parameters as Stripe does', async () => {
	const s = client();
	await assert.rejects(s.paymentIntents.create({ currency: 'eur' }),
	    (e) => e.statusCode === 400 && e.code === 'parameter_missing' &&
	    e.param === 'amount');
	await assert.rejects(s.paymentIntents.create({ amount: 0,
	    currency: 'eur' }), (e) => e.code === 'parameter_invalid_integer');
	assert.equal((await stats()).intents_created, 0);
});

test('a wrong or missing key is 401', async () => {
	const bad = new Stripe('sk_test_wrong', { host: '127.0.0.1', port,
	    protocol: 'http', maxNetworkRetries: 0 });
	await assert.rejects(bad.paymentIntents.create(base),
	    (e) => e.type === 'StripeAuthenticationError' &&
	    e.statusCode === 401);
	const r = await fetch(`http://127.0.0.1:${port}/v1/payment_intents`,
	    { method: 'POST', body: 'amount=1&currency=eur' });
	assert.equal(r.status, 401);
	assert.equal((await r.json()).error.type, 'invalid_request_error');
	assert.equal((await stats()).intents_created, 0);
});

test('confirm with pm_card_visa succeeds with a charge', async () => {
	const s = client();
	const pi = await s.paymentIntents.create(base);
	const done = await s.paymentIntents.confirm(pi.id,
	    { payment_method: 'pm_card_visa' });
	assert.equal(done.status, 'succeeded');
	assert.match(done.latest_charge, /^ch_/);
	assert.equal(done.amount_received, 1200);
	await assert.rejects(s.paymentIntents.confirm(pi.id,
	    { payment_method: 'pm_card_visa' }), (e) => e.statusCode === 400 &&
	    e.code === 'payment_intent_unexpected_state');
	const st = await stats();
	assert.equal(st.charges, 1);
	assert.equal(st.calls.confirm_intent, 2);
});

test('create with confirm=true confirms at once', async () => {
	const pi = await client().paymentIntents.create({ ...base,
	    automatic_payment_methods: undefined, payment_method_types:
	    ['card'], payment_method: 'pm_card_mastercard', confirm: true });
	assert.equal(pi.status, 'succeeded');
	assert.deepEqual(pi.payment_method_types, ['card']);
});

test('a declined card is 402 card_error with the intent', async () => {
	const s = client();
	const pi = await s.paymentIntents.create(base);
	await assert.rejects(s.paymentIntents.confirm(pi.id,
	    { payment_method: 'pm_card_chargeDeclined' }), (e) => {
		assert.equal(e.type, 'StripeCardError');
		assert.equal(e.statusCode, 402);
		assert.equal(e.code, 'card_declined');
		assert.equal(e.decline_code, 'generic_decline');
		assert.equal(e.payment_intent.id, pi.id);
		assert.equal(e.payment_intent.status, 'requires_payment_method');
		return true;
	});
	const after = await s.paymentIntents.retrieve(pi.id);
	assert.equal(after.last_payment_error.code, 'card_declined');
	// A new card may be tried on the same intent.
	const ok = await s.paymentIntents.confirm(pi.id,
	    { payment_method: 'pm_card_visa' });
	assert.equal(ok.status, 'succeeded');
	await assert.rejects(s.paymentIntents.confirm(pi.id,
	    { payment_method: 'pm_card_nonsense' }), (e) => e.statusCode === 400);
});

test('3-D Secure cards answer requires_action, then pass or fail',
    async () => {
	const s = client();
	for (const pm of ['pm_card_threeDSecure2Required',
	    'pm_card_authenticationRequired']) {
		const pi = await s.paymentIntents.create(base);
		const act = await s.paymentIntents.confirm(pi.id,
		    { payment_method: pm });
		assert.equal(act.status, 'requires_action');
		assert.equal(act.next_action.type, 'use_stripe_sdk');
		assert.equal(act.latest_charge, null);
	}
	const pi = await s.paymentIntents.create(base);
	await s.paymentIntents.confirm(pi.id,
	    { payment_method: 'pm_card_authenticationRequired' });
	const r = await control(`intents/${pi.id}/authenticate`,
	    { result: 'succeed' });
	assert.equal(r.json.status, 'succeeded');
	assert.equal((await s.paymentIntents.retrieve(pi.id)).status,
	    'succeeded');
	const p2 = await s.paymentIntents.create(base);
	await s.paymentIntents.confirm(p2.id,
	    { payment_method: 'pm_card_threeDSecure2Required' });
	await control(`intents/${p2.id}/authenticate`, { result: 'fail' });
	const failed = await s.paymentIntents.retrieve(p2.id);
	assert.equal(failed.status, 'requires_payment_method');
	assert.equal(failed.last_payment_error.code,
	    'payment_intent_authentication_failure');
});

test('cancel, and no cancel of a succeeded intent', async () => {
	const s = client();
	const pi = await s.paymentIntents.create(base);
	const c = await s.paymentIntents.cancel(pi.id);
	assert.equal(c.status, 'canceled');
	assert.equal(typeof c.canceled_at, 'number');
	await assert.rejects(s.paymentIntents.confirm(pi.id,
	    { payment_method: 'pm_card_visa' }),
	    (e) => e.code === 'payment_intent_unexpected_state');
	const paid = await s.paymentIntents.create({ ...base,
	    payment_method: 'pm_card_visa', confirm: true });
	await assert.rejects(s.paymentIntents.cancel(paid.id),
	    (e) => e.statusCode === 400 &&
	    e.code === 'payment_intent_unexpected_state');
	assert.equal((await stats()).calls.cancel_intent, 2);
});

test('refunds: partial, the rest, then charge_already_refunded',
    async () => {
	const s = client();
	const open = await s.paymentIntents.create(base);
	await assert.rejects(s.refunds.create({ payment_intent: open.id }),
	    (e) => e.statusCode === 400);
	const pi = await s.paymentIntents.create({ ...base,
	    payment_method: 'pm_card_visa', confirm: true });
	const r1 = await s.refunds.create({ payment_intent: pi.id,
	    amount: 200, metadata: { payment_id: '34' } });
	assert.match(r1.id, /^re_/);
	assert.equal(r1.object, 'refund');
	assert.equal(r1.amount, 200);
	assert.equal(r1.currency, 'eur');
	assert.equal(r1.payment_intent, pi.id);
	assert.equal(r1.status, 'succeeded');
	await assert.rejects(s.refunds.create({ payment_intent: pi.id,
	    amount: 1001 }), (e) => e.statusCode === 400 &&
	    e.code === 'amount_too_large');
	const r2 = await s.refunds.create({ payment_intent: pi.id });
	assert.equal(r2.amount, 1000);
	await assert.rejects(s.refunds.create({ payment_intent: pi.id }),
	    (e) => e.statusCode === 400 &&
	    e.code === 'charge_already_refunded');
	await assert.rejects(s.refunds.create({ payment_intent: 'pi_nope' }),
	    (e) => e.statusCode === 404);
	const st = await stats();
	assert.equal(st.refunds_created, 2);
	assert.equal(st.refunds_by_intent[pi.id], 2);
	const kept = (await control(`intents/${pi.id}`)).json;
	assert.equal(kept.refunds.length, 2);
});

test('Idempotency-Key: replay, other parameters, in flight', async () => {
	const s = client();
	const a = await s.paymentIntents.create(base,
	    { idempotencyKey: 'pay-34-initiate' });
	const b = await s.paymentIntents.create(base,
	    { idempotencyKey: 'pay-34-initiate' });
	assert.equal(b.id, a.id);
	assert.equal(b.client_secret, a.client_secret);
	assert.equal(b.lastResponse.headers['idempotent-replayed'], 'true');
	assert.equal(a.lastResponse.headers['idempotent-replayed'], undefined);
	assert.equal((await stats()).intents_created, 1);

	await assert.rejects(s.paymentIntents.create({ ...base, amount: 1300 },
	    { idempotencyKey: 'pay-34-initiate' }), (e) =>
	    e.type === 'StripeIdempotencyError' && e.statusCode === 400);

	// A declined confirm is replayed as the same 402.
	const pi = await s.paymentIntents.create(base);
	const decline = { payment_method: 'pm_card_chargeDeclined' };
	for (let i = 0; i < 2; i++)
		await assert.rejects(s.paymentIntents.confirm(pi.id, decline,
		    { idempotencyKey: 'confirm-1' }), (e) => e.statusCode === 402);
	assert.equal((await stats()).charges, 1);

	await control('behaviour', { route: 'create_intent', mode: 'slow',
	    delay_ms: 400 });
	const first = s.paymentIntents.create(base,
	    { idempotencyKey: 'slow-key' });
	await new Promise((r) => setTimeout(r, 100));
	// The client classes a 409 as StripeAPIError (type kept in rawType).
	await assert.rejects(s.paymentIntents.create(base,
	    { idempotencyKey: 'slow-key' }), (e) => e.statusCode === 409 &&
	    e.rawType === 'idempotency_error');
	const done = await first;
	const replay = await s.paymentIntents.create(base,
	    { idempotencyKey: 'slow-key' });
	assert.equal(replay.id, done.id);
});

test('error500 changes nothing and the client\'s retry succeeds',
    async () => {
	await control('behaviour', { route: 'create_intent', mode: 'error500',
	    times: 1 });
	await assert.rejects(client().paymentIntents.create(base),
	    (e) => e.type === 'StripeAPIError' && e.statusCode === 500);
	assert.equal((await stats()).intents_created, 0);

	await control('behaviour', { route: 'create_intent', mode: 'error500',
	    times: 1 });
	// The official client retries a 500 under its own Idempotency-Key.
	const pi = await client({ maxNetworkRetries: 1 }).paymentIntents
	    .create(base, { idempotencyKey: 'after-500' });
	assert.match(pi.id, /^pi_/);
	const st = await stats();
	assert.equal(st.intents_created, 1);
	assert.deepEqual(st.log.map((l) => l.status), [500, 500, 200]);
	assert.ok(st.log.slice(1).every((l) =>
	    l.idempotency_key === 'after-500'));
});

test('hang and slow past the client\'s timeout are connection errors',
    async () => {
	await control('behaviour', { route: 'retrieve_intent', mode: 'hang' });
	const t0 = Date.now();
	await assert.rejects(client({ timeout: 300 }).paymentIntents
	    .retrieve('pi_x'), (e) => e.type === 'StripeConnectionError');
	assert.ok(Date.now() - t0 < 4000);

	await control('behaviour', { route: 'retrieve_intent', mode: 'ok' });
	const pi = await client().paymentIntents.create(base);
	await control('behaviour', { route: '*', mode: 'slow',
	    delay_ms: 600 });
	await assert.rejects(client({ timeout: 150 }).paymentIntents
	    .retrieve(pi.id), (e) => e.type === 'StripeConnectionError');
	const slow = await client({ timeout: 5000 }).paymentIntents
	    .retrieve(pi.id);
	assert.equal(slow.id, pi.id);
});

test('a hang after the effect: the retry under the key finds the intent',
    async () => {
	await control('behaviour', { route: 'create_intent', mode: 'hang',
	    after_effect: true, times: 1 });
	await assert.rejects(client({ timeout: 300 }).paymentIntents
	    .create(base, { idempotencyKey: 'hung' }),
	    (e) => e.type === 'StripeConnectionError');
	const pi = await client().paymentIntents.create(base,
	    { idempotencyKey: 'hung' });
	assert.equal(pi.lastResponse.headers['idempotent-replayed'], 'true');
	assert.equal((await stats()).intents_created, 1);
});

// The official client retries a closed connection once, under the same
// Idempotency-Key, even with maxNetworkRetries 0.
test('drop before and after the effect', async () => {
	await control('behaviour', { route: 'create_intent', mode: 'drop',
	    times: 2 });
	await assert.rejects(client().paymentIntents.create(base,
	    { idempotencyKey: 'dropped' }),
	    (e) => e.type === 'StripeConnectionError');
	let st = await stats();
	assert.equal(st.intents_created, 0);
	assert.deepEqual(st.log.map((l) => l.status), ['drop', 'drop']);

	await control('behaviour', { route: 'create_intent', mode: 'drop',
	    after_effect: true, times: 1 });
	const pi = await client().paymentIntents.create(base,
	    { idempotencyKey: 'dropped-late' });
	assert.equal(pi.lastResponse.headers['idempotent-replayed'], 'true');
	st = await stats();
	assert.equal(st.intents_created, 1);
	assert.deepEqual(st.log.slice(2).map((l) => l.status),
	    ['drop_after_effect', 200]);
	assert.ok(st.log.slice(2).every((l) =>
	    l.idempotency_key === 'dropped-late'));
});

test('behaviour refuses what it does not know', async () => {
	assert.equal((await control('behaviour', { route: 'nope',
	    mode: 'hang' })).status, 400);
	assert.equal((await control('behaviour', { route: 'refund',
	    mode: 'explode' })).status, 400);
	const r = await fetch(`http://127.0.0.1:${port}/v1/charges`,
	    { headers: { authorization: `Bearer ${KEY}` } });
	assert.equal(r.status, 404);
	assert.equal((await r.json()).error.type, 'invalid_request_error');
});

test('state changes are delivered as webhooks Stripe\'s verifier accepts',
    async () => {
	const s = client();
	const pi = await s.paymentIntents.create(base);
	await s.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
	await s.refunds.create({ payment_intent: pi.id });
	const p2 = await s.paymentIntents.create(base);
	await assert.rejects(s.paymentIntents.confirm(p2.id,
	    { payment_method: 'pm_card_chargeDeclined' }));
	await s.paymentIntents.cancel(p2.id);
	assert.equal(await arrived(4), 4);
	for (const r of received)
		assert.equal(r.error, undefined, String(r.error));
	const types = received.map((r) => r.event.type).sort();
	assert.deepEqual(types, ['charge.refunded', 'payment_intent.canceled',
	    'payment_intent.payment_failed', 'payment_intent.succeeded']);
	const ok = received.find((r) => r.event.type ===
	    'payment_intent.succeeded').event;
	assert.match(ok.id, /^evt_/);
	assert.equal(ok.object, 'event');
	assert.equal(ok.livemode, false);
	assert.equal(ok.data.object.id, pi.id);
	assert.equal(ok.data.object.status, 'succeeded');
	assert.deepEqual(ok.data.object.metadata, base.metadata);
	const refunded = received.find((r) => r.event.type ===
	    'charge.refunded').event.data.object;
	assert.equal(refunded.payment_intent, pi.id);
	assert.equal(refunded.amount_refunded, 1200);
	assert.equal(refunded.refunded, true);
	// Signed as Stripe signs: another secret does not verify.
	assert.throws(() => Stripe.webhooks.constructEvent(received[0].body,
	    received[0].header, 'whsec_other'));
	assert.equal((await stats()).webhooks.length, 4);
});

test('send_event: twice, tampered, stale, another secret', async () => {
	await control('webhooks', { auto: false });
	const s = client();
	const pi = await s.paymentIntents.create({ ...base,
	    payment_method: 'pm_card_visa', confirm: true });
	await new Promise((r) => setTimeout(r, 100));
	assert.equal(received.length, 0, 'auto delivery was off');

	const twice = (await control('send_event', { type:
	    'payment_intent.succeeded', intent: pi.id, times: 2 })).json;
	assert.equal(twice.deliveries.length, 2);
	assert.deepEqual(twice.deliveries.map((d) => d.status), [200, 200]);
	assert.equal(received[0].event.id, twice.event_id);
	assert.equal(received[1].event.id, twice.event_id);

	const reused = (await control('send_event', { type:
	    'payment_intent.succeeded', intent: pi.id, event_id: 'evt_fixed',
	    override: { amount: 1, currency: 'usd',
	    metadata: { booking_id: '99' } } })).json;
	assert.equal(reused.event_id, 'evt_fixed');
	const ev = received[2].event;
	assert.equal(ev.data.object.amount, 1);
	assert.equal(ev.data.object.currency, 'usd');
	assert.equal(ev.data.object.metadata.booking_id, '99');

	const bad = [
	    { tamper_body: true },
	    { secret: 'whsec_someone_else' },
	    { timestamp: Math.floor(Date.now() / 1000) - 301 },
	];
	for (const extra of bad) {
		const r = (await control('send_event', { type:
		    'payment_intent.succeeded', intent: pi.id, ...extra })).json;
		assert.equal(r.deliveries[0].status, 400, JSON.stringify(extra));
	}
	assert.equal(received.length, 6);
	for (const r of received.slice(3))
		assert.equal(r.error.type, 'StripeSignatureVerificationError');

	const signed = (await control('sign', { payload: '{"id":"evt_raw"}',
	    secret: WHSEC })).json;
	assert.match(signed.header, /^t=\d+,v1=[0-9a-f]{64}$/);
	const raw = (await control('send_raw', { payload: '{"id":"evt_raw"}',
	    header: signed.header })).json;
	assert.equal(raw.deliveries[0].status, 200);
	assert.equal(received[6].event.id, 'evt_raw');
	assert.equal((await control('send_event', { type: 'x',
	    intent: 'pi_nope' })).status, 400);
});

test('automatic events: twice each, or held and released in reverse',
    async () => {
	const s = client();
	await control('webhooks', { times: 2 });
	const pi = await s.paymentIntents.create({ ...base,
	    payment_method: 'pm_card_visa', confirm: true });
	assert.equal(await arrived(2), 2);
	assert.equal(received[0].event.id, received[1].event.id);
	assert.equal(received[0].event.data.object.id, pi.id);

	received.length = 0;
	await control('webhooks', { times: 1, hold: true });
	const p2 = await s.paymentIntents.create(base);
	await assert.rejects(s.paymentIntents.confirm(p2.id,
	    { payment_method: 'pm_card_chargeDeclined' }));
	await s.paymentIntents.confirm(p2.id, { payment_method: 'pm_card_visa' });
	await s.refunds.create({ payment_intent: p2.id });
	await new Promise((r) => setTimeout(r, 100));
	assert.equal(received.length, 0, 'held events were delivered');
	const st = (await control('webhooks', {})).json;
	assert.equal(st.held, 3);
	const rel = (await control('release', { order: 'reverse' })).json;
	assert.deepEqual(rel.deliveries.map((d) => d.status), [200, 200, 200]);
	assert.deepEqual(received.map((r) => r.event.type), ['charge.refunded',
	    'payment_intent.succeeded', 'payment_intent.payment_failed']);
	assert.equal((await control('webhooks', {})).json.held, 0);
	assert.equal((await control('release', { order: 'sideways' })).status,
	    400);
	assert.equal((await control('webhooks', { times: 0 })).status, 400);
});
