#!/usr/bin/env node
// A Stripe stand-in for tests (there is no internet here): the part of
// Stripe's REST API the service uses, spoken as Stripe speaks it, plus a
// control API for tests under /__control/. The interface is described in
// docs/stripe-standin.md; tests/stripe/standin.test.mjs proves it against
// the official `stripe` npm client.
//
//   node tests/stripe/standin.mjs --port PORT [--secret-key sk_test_standin]
//       [--webhook-url URL] [--webhook-secret whsec_...] [--pidfile F]
//
// Requests are application/x-www-form-urlencoded with bracket notation
// (metadata[booking_id]=12); answers are Stripe's JSON objects and error
// envelopes with Stripe's statuses. Webhook events are signed with the
// official package's stripe.webhooks.generateTestHeaderString, so a
// server's Stripe-Signature check is proven against Stripe's own signer.
//
// Order of a call: auth (401) -> injected fault (/__control/behaviour;
// error500 and a drop or hang before the effect change nothing, and are
// never stored under an Idempotency-Key, as a fault in front of Stripe
// would not be) -> Idempotency-Key (replay, 400 other parameters, 409 in
// flight) -> slow delay -> the effect -> stored under the key -> answer
// (or a drop/hang after the effect) -> webhook events.
import http from 'node:http';
import https from 'node:https';
import crypto from 'node:crypto';
import fs from 'node:fs';
import Stripe from 'stripe';

const ROUTES = ['create_intent', 'confirm_intent', 'retrieve_intent',
    'cancel_intent', 'refund'];
const MODES = ['ok', 'error500', 'hang', 'drop', 'slow'];
const CARDS_OK = new Set(['pm_card_visa', 'pm_card_mastercard',
    'pm_card_amex', 'pm_card_visa_debit']);
const CARDS_DECLINED = new Set(['pm_card_chargeDeclined',
    'pm_card_visa_chargeDeclined']);
const CARDS_3DS = new Set(['pm_card_authenticationRequired',
    'pm_card_threeDSecure2Required']);
const CANCELABLE = new Set(['requires_payment_method',
    'requires_confirmation', 'requires_action', 'processing']);
const CONFIRMABLE = new Set(['requires_payment_method',
    'requires_confirmation', 'requires_action']);
const API_VERSION = Stripe.API_VERSION || '2024-06-20';
const BODY_MAX = 1024 * 1024;

function parseArgs(argv) {
	const opts = { port: 0, secretKey: 'sk_test_standin', webhookUrl: null,
	    webhookSecret: null, pidfile: null };
	for (let i = 2; i < argv.length; i++) {
		const v = argv[i + 1];
		switch (argv[i]) {
		case '--port': opts.port = Number(v); i++; break;
		case '--secret-key': opts.secretKey = v; i++; break;
		case '--webhook-url': opts.webhookUrl = v; i++; break;
		case '--webhook-secret': opts.webhookSecret = v; i++; break;
		case '--pidfile': opts.pidfile = v; i++; break;
		default:
			throw new Error(`unknown argument ${argv[i]}`);
		}
	}
	if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)
		throw new Error('--port must be a port number');
	return opts;
}

// Stripe-style ids: a prefix and 24 random alphanumerics.
function newId(prefix) {
	const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
	const bytes = crypto.randomBytes(24);
	let s = '';
	for (const b of bytes)
		s += abc[b % abc.length];
	return `${prefix}_${s}`;
}

const now = () => Math.floor(Date.now() / 1000);

// a=1&m[k]=v&l[0]=x&l[]=y&o[p][q]=z into nested objects and arrays.
export function parseForm(text) {
	const out = {};
	for (const [rawKey, value] of new URLSearchParams(text)) {
		const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
		if (!m) {
			out[rawKey] = value;
			continue;
		}
		const path = [m[1]];
		for (const seg of m[2].matchAll(/\[([^[\]]*)\]/g))
			path.push(seg[1]);
		let node = out;
		for (let i = 0; i < path.length; i++) {
			const last = i === path.length - 1;
			let k = path[i];
			if (Array.isArray(node) && (k === '' || /^\d+$/.test(k)))
				k = k === '' ? node.length : Number(k);
			if (last) {
				node[k] = value;
				break;
			}
			if (node[k] === undefined || typeof node[k] !== 'object') {
				const next = path[i + 1];
				node[k] = next === '' || /^\d+$/.test(next) ? [] : {};
			}
			node = node[k];
		}
	}
	return out;
}

// Stable JSON (sorted keys): what "the same parameters" means.
function canonical(v) {
	if (Array.isArray(v))
		return `[${v.map(canonical).join(',')}]`;
	if (v && typeof v === 'object')
		return `{${Object.keys(v).sort().map((k) =>
		    `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
	return JSON.stringify(v);
}

class StripeError extends Error {
	constructor(status, fields) {
		super(fields.message);
		this.status = status;
		this.fields = fields;
	}
}

function invalid(message, extra = {}) {
	return new StripeError(400, { type: 'invalid_request_error', message,
	    ...extra });
}

function missing(kind, id, param) {
	return new StripeError(404, { type: 'invalid_request_error',
	    code: 'resource_missing', message: `No such ${kind}: '${id}'`,
	    param, doc_url: 'https://stripe.com/docs/error-codes/resource-missing' });
}

function unexpectedState(pi, action) {
	return invalid(`You cannot ${action} this PaymentIntent because it has `
	    + `a status of ${pi.status}.`, { code:
	    'payment_intent_unexpected_state', payment_intent: publicIntent(pi),
	    doc_url: 'https://stripe.com/docs/error-codes/payment-intent-unexpected-state' });
}

function positiveInt(params, name, required) {
	const v = params[name];
	if (v === undefined) {
		if (required)
			throw invalid(`Missing required param: ${name}.`,
			    { code: 'parameter_missing', param: name });
		return undefined;
	}
	if (!/^\d+$/.test(String(v)) || Number(v) < 1 ||
	    !Number.isSafeInteger(Number(v)))
		throw invalid('This value must be greater than or equal to 1.',
		    { code: 'parameter_invalid_integer', param: name });
	return Number(v);
}

function metadataOf(params) {
	const md = params.metadata;
	if (md === undefined || md === '')
		return {};
	if (typeof md !== 'object' || Array.isArray(md))
		throw invalid('Invalid object', { code: 'parameter_invalid_object',
		    param: 'metadata' });
	return { ...md };
}

// The intent as Stripe answers it (refunds are kept beside it).
function publicIntent(pi) {
	const { refunds, ...shown } = pi;
	return JSON.parse(JSON.stringify(shown));
}

export function createStandin(opts) {
	const st = {
		intents: new Map(),
		charges: new Map(),
		refunds: new Map(),
		idem: new Map(),	// key -> {fingerprint, status, body} | {inflight}
		behaviours: [],
		autoWebhooks: true,
		webhookDelayMs: 0,
		webhookTimes: 1,	// each automatic event delivered this often
		holdWebhooks: false,	// kept in `held` until /__control/release
		held: [],
		stats: null,
		sockets: new Set(),
	};

	function resetStats() {
		st.stats = { calls: Object.fromEntries(ROUTES.map((r) => [r, 0])),
		    intents_created: 0, refunds_created: 0, charges: 0,
		    refunds_by_intent: {}, log: [], webhooks: [] };
	}

	function reset() {
		st.intents.clear();
		st.charges.clear();
		st.refunds.clear();
		st.idem.clear();
		st.behaviours = [];
		st.autoWebhooks = true;
		st.webhookDelayMs = 0;
		st.webhookTimes = 1;
		st.holdWebhooks = false;
		st.held = [];
		resetStats();
	}
	reset();

	// The behaviour that applies to this call, used up by one.
	function takeBehaviour(route) {
		const b = st.behaviours.find((x) => x.route === route) ||
		    st.behaviours.find((x) => x.route === '*');
		if (!b || b.mode === 'ok')
			return null;
		if (b.times !== undefined) {
			b.times--;
			if (b.times <= 0)
				st.behaviours = st.behaviours.filter((x) => x !== b);
		}
		return b;
	}

	function newCharge(pi, pm, outcome) {
		const ch = { id: newId('ch'), object: 'charge', amount: pi.amount,
		    amount_captured: outcome === 'succeeded' ? pi.amount : 0,
		    amount_refunded: 0, captured: outcome === 'succeeded',
		    created: now(), currency: pi.currency, livemode: false,
		    metadata: { ...pi.metadata }, paid: outcome === 'succeeded',
		    payment_intent: pi.id, payment_method: pm, refunded: false,
		    status: outcome, failure_code: outcome === 'failed' ?
		    'card_declined' : null, failure_message: outcome === 'failed' ?
		    'Your card was declined.' : null };
		st.charges.set(ch.id, ch);
		st.stats.charges++;
		return ch;
	}

	// The card decides: succeeded, a decline (402), or 3-D Secure.
	function confirmWith(pi, pm, events) {
		if (!CONFIRMABLE.has(pi.status))
			throw unexpectedState(pi, 'confirm');
		if (!pm)
			throw invalid('You cannot confirm this PaymentIntent because '
			    + 'it\'s missing a payment method.', { code:
			    'payment_intent_unexpected_state',
			    payment_intent: publicIntent(pi) });
		if (!CARDS_OK.has(pm) && !CARDS_DECLINED.has(pm) &&
		    !CARDS_3DS.has(pm))
			throw missing('PaymentMethod', pm, 'payment_method');
		pi.payment_method = pm;
		pi.last_payment_error = null;
		pi.next_action = null;
		if (CARDS_OK.has(pm)) {
			succeed(pi, pm, events);
		} else if (CARDS_DECLINED.has(pm)) {
			const ch = newCharge(pi, pm, 'failed');
			pi.latest_charge = ch.id;
			pi.status = 'requires_payment_method';
			pi.payment_method = null;
			pi.last_payment_error = { type: 'card_error',
			    code: 'card_declined', decline_code: 'generic_decline',
			    message: 'Your card was declined.', charge: ch.id,
			    payment_method: { id: pm, object: 'payment_method',
			    type: 'card' } };
			events.push(['payment_intent.payment_failed', pi]);
			throw new StripeError(402, { type: 'card_error',
			    code: 'card_declined', decline_code: 'generic_decline',
			    message: 'Your card was declined.', charge: ch.id,
			    doc_url: 'https://stripe.com/docs/error-codes/card-declined',
			    payment_intent: publicIntent(pi) });
		} else {
			pi.status = 'requires_action';
			pi.next_action = { type: 'use_stripe_sdk', use_stripe_sdk: {
			    type: 'three_d_secure_redirect',
			    stripe_js: `https://hooks.stripe.com/3d_secure_2/hosted?payment_intent=${pi.id}`,
			    source: newId('src') } };
			events.push(['payment_intent.requires_action', pi]);
		}
	}

	function succeed(pi, pm, events) {
		const ch = newCharge(pi, pm, 'succeeded');
		pi.status = 'succeeded';
		pi.latest_charge = ch.id;
		pi.amount_received = pi.amount;
		pi.next_action = null;
		events.push(['payment_intent.succeeded', pi]);
	}

	function getIntent(id) {
		const pi = st.intents.get(id);
		if (!pi)
			throw missing('payment_intent', id, 'intent');
		return pi;
	}

	// The Stripe API: [route name, method, pattern, effect(params, m, events)].
	const api = [
		['create_intent', 'POST', /^\/v1\/payment_intents$/, (p, m, ev) => {
			const amount = positiveInt(p, 'amount', true);
			if (p.currency === undefined)
				throw invalid('Missing required param: currency.',
				    { code: 'parameter_missing', param: 'currency' });
			if (!/^[a-zA-Z]{3}$/.test(p.currency))
				throw invalid(`Invalid currency: ${p.currency}.`,
				    { code: 'parameter_invalid_string',
				    param: 'currency' });
			const id = newId('pi');
			const pi = { id, object: 'payment_intent', amount,
			    amount_received: 0, automatic_payment_methods:
			    p.automatic_payment_methods ? { enabled:
			    p.automatic_payment_methods.enabled === 'true' } : null,
			    canceled_at: null, cancellation_reason: null,
			    capture_method: 'automatic',
			    client_secret: `${id}_secret_${newId('x').slice(2)}`,
			    confirmation_method: 'automatic', created: now(),
			    currency: p.currency.toLowerCase(),
			    description: p.description ?? null,
			    last_payment_error: null, latest_charge: null,
			    livemode: false, metadata: metadataOf(p),
			    next_action: null, payment_method: p.payment_method ?? null,
			    payment_method_types: Array.isArray(p.payment_method_types)
			    ? p.payment_method_types : ['card'],
			    status: p.payment_method ? 'requires_confirmation' :
			    'requires_payment_method', refunds: [] };
			st.intents.set(id, pi);
			st.stats.intents_created++;
			ev.push(['payment_intent.created', pi]);
			// A decline here still leaves the intent created.
			if (p.confirm === 'true')
				confirmWith(pi, pi.payment_method, ev);
			return publicIntent(pi);
		}],
		['retrieve_intent', 'GET', /^\/v1\/payment_intents\/([^/]+)$/,
		    (p, m) => publicIntent(getIntent(m[1]))],
		['confirm_intent', 'POST',
		    /^\/v1\/payment_intents\/([^/]+)\/confirm$/, (p, m, ev) => {
			const pi = getIntent(m[1]);
			confirmWith(pi, p.payment_method ?? pi.payment_method, ev);
			return publicIntent(pi);
		}],
		['cancel_intent', 'POST',
		    /^\/v1\/payment_intents\/([^/]+)\/cancel$/, (p, m, ev) => {
			const pi = getIntent(m[1]);
			if (!CANCELABLE.has(pi.status))
				throw unexpectedState(pi, 'cancel');
			pi.status = 'canceled';
			pi.canceled_at = now();
			pi.cancellation_reason = p.cancellation_reason ?? null;
			pi.next_action = null;
			ev.push(['payment_intent.canceled', pi]);
			return publicIntent(pi);
		}],
		['refund', 'POST', /^\/v1\/refunds$/, (p, m, ev) => {
			if (p.payment_intent === undefined && p.charge === undefined)
				throw invalid('One of the following params should be '
				    + 'provided for this request: payment_intent or charge.',
				    { code: 'parameter_missing', param: 'payment_intent' });
			let pi;
			if (p.payment_intent !== undefined) {
				pi = getIntent(p.payment_intent);
			} else {
				const ch = st.charges.get(p.charge);
				if (!ch)
					throw missing('charge', p.charge, 'charge');
				pi = getIntent(ch.payment_intent);
			}
			if (pi.status !== 'succeeded')
				throw invalid(`This PaymentIntent (${pi.id}) does not `
				    + 'have a successful charge to refund.',
				    { code: 'charge_not_refundable',
				    param: 'payment_intent' });
			const ch = st.charges.get(pi.latest_charge);
			const left = ch.amount - ch.amount_refunded;
			if (left === 0)
				throw invalid(`Charge ${ch.id} has already been refunded.`,
				    { code: 'charge_already_refunded',
				    doc_url: 'https://stripe.com/docs/error-codes/charge-already-refunded' });
			const amount = positiveInt(p, 'amount', false) ?? left;
			if (amount > left)
				throw invalid(`Refund amount (${amount}) is greater than `
				    + `unrefunded amount on charge (${left})`,
				    { code: 'amount_too_large', param: 'amount' });
			const re = { id: newId('re'), object: 'refund', amount,
			    balance_transaction: newId('txn'), charge: ch.id,
			    created: now(), currency: pi.currency,
			    metadata: metadataOf(p), payment_intent: pi.id,
			    reason: p.reason ?? null, status: 'succeeded' };
			st.refunds.set(re.id, re);
			pi.refunds.push(re);
			ch.amount_refunded += amount;
			ch.refunded = ch.amount_refunded === ch.amount;
			st.stats.refunds_created++;
			st.stats.refunds_by_intent[pi.id] =
			    (st.stats.refunds_by_intent[pi.id] ?? 0) + 1;
			ev.push(['charge.refunded', chargeWithRefunds(ch)]);
			ev.push(['refund.created', re]);
			return { ...re };
		}],
	];

	function chargeWithRefunds(ch) {
		const data = [...st.refunds.values()].filter((r) =>
		    r.charge === ch.id);
		return { ...ch, refunds: { object: 'list', data,
		    has_more: false, total_count: data.length,
		    url: `/v1/charges/${ch.id}/refunds` } };
	}

	function eventFor(type, object, extra = {}) {
		return { id: extra.event_id ?? newId('evt'), object: 'event',
		    api_version: API_VERSION, created: now(),
		    data: { object: JSON.parse(JSON.stringify(object)) },
		    livemode: false, pending_webhooks: 1,
		    request: { id: null, idempotency_key: null }, type };
	}

	function sign(payload, secret, timestamp) {
		return Stripe.webhooks.generateTestHeaderString({ payload, secret,
		    timestamp: timestamp ?? now() });
	}

	// POSTs one event to the webhook url: {status, body} or {status: 0, error}.
	function deliver(payload, header) {
		return new Promise((resolve) => {
			if (!opts.webhookUrl) {
				resolve({ status: 0, error: 'no --webhook-url' });
				return;
			}
			const url = new URL(opts.webhookUrl);
			const mod = url.protocol === 'https:' ? https : http;
			// Our own test server's self-signed certificate.
			const req = mod.request(url, { method: 'POST',
			    rejectUnauthorized: false, timeout: 10000, headers: {
			    'content-type': 'application/json; charset=utf-8',
			    'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
			    'stripe-signature': header,
			    'content-length': Buffer.byteLength(payload) } }, (res) => {
				let body = '';
				res.setEncoding('utf8');
				res.on('data', (c) => { body += c; });
				res.on('end', () => resolve({ status: res.statusCode,
				    body }));
			});
			req.on('timeout', () => req.destroy(new Error('timeout')));
			req.on('error', (e) => resolve({ status: 0, error: e.message }));
			req.end(payload);
		});
	}

	function autoDeliver(events) {
		if (!st.autoWebhooks || !opts.webhookUrl || !opts.webhookSecret)
			return;
		const wanted = new Set(['payment_intent.succeeded',
		    'payment_intent.payment_failed', 'payment_intent.canceled',
		    'charge.refunded']);
		for (const [type, obj] of events) {
			if (!wanted.has(type))
				continue;
			const ev = eventFor(type, obj.object === 'payment_intent' ?
			    publicIntent(obj) : obj);
			const payload = JSON.stringify(ev, null, 2);
			if (st.holdWebhooks) {
				st.held.push({ ev, payload });
				continue;
			}
			setTimeout(() => deliverAuto(ev, payload), st.webhookDelayMs);
		}
	}

	// One automatic event, webhookTimes times (signed afresh each time).
	async function deliverAuto(ev, payload) {
		const out = [];
		for (let i = 0; i < st.webhookTimes; i++) {
			const r = await deliver(payload,
			    sign(payload, opts.webhookSecret));
			st.stats.webhooks.push({ event_id: ev.id, type: ev.type,
			    status: r.status, auto: true });
			out.push({ event_id: ev.id, type: ev.type, ...r });
		}
		return out;
	}

	// Held events, delivered now in the order asked, one after another.
	async function release(p) {
		const order = p.order ?? 'fifo';
		if (order !== 'fifo' && order !== 'reverse')
			throw new Error('order must be fifo or reverse');
		const batch = st.held;
		st.held = [];
		if (order === 'reverse')
			batch.reverse();
		const deliveries = [];
		for (const { ev, payload } of batch)
			deliveries.push(...await deliverAuto(ev, payload));
		return { deliveries };
	}

	function send(res, status, body, headers = {}) {
		if (res.destroyed)
			return;
		res.writeHead(status, { 'content-type': 'application/json',
		    'content-length': Buffer.byteLength(body),
		    'request-id': newId('req'), ...headers });
		res.end(body);
	}

	function stripeError(res, e, headers) {
		send(res, e.status, JSON.stringify({ error: e.fields }, null, 2),
		    headers);
	}

	function logCall(route, key, status) {
		st.stats.log.push({ route, idempotency_key: key ?? null, status,
		    at_ms: Date.now() });
	}

	async function handleApi(req, res, raw) {
		const url = new URL(req.url, 'http://standin');
		const auth = req.headers.authorization ?? '';
		const found = api.find(([, method, re]) =>
		    method === req.method && re.test(url.pathname));
		const route = found ? found[0] : null;
		const key = req.headers['idempotency-key'];
		if (route)
			st.stats.calls[route]++;

		if (auth !== `Bearer ${opts.secretKey}`) {
			logCall(route, key, 401);
			stripeError(res, new StripeError(401, { type:
			    'invalid_request_error', message: auth === '' ?
			    'You did not provide an API key.' :
			    'Invalid API Key provided.' }));
			return;
		}
		if (!found) {
			const e = invalid(`Unrecognized request URL (${req.method}: `
			    + `${url.pathname}).`);
			e.status = 404;
			logCall(null, key, 404);
			stripeError(res, e);
			return;
		}

		const b = takeBehaviour(route);
		if (b && b.mode === 'error500') {
			logCall(route, key, 500);
			stripeError(res, new StripeError(500, { type: 'api_error',
			    message: 'An unknown error occurred' }));
			return;
		}
		if (b && !b.after_effect && (b.mode === 'drop' || b.mode === 'hang')) {
			logCall(route, key, b.mode);
			if (b.mode === 'drop')
				req.socket.destroy();
			return;
		}

		const params = req.method === 'GET' ?
		    parseForm(url.search.slice(1)) : parseForm(raw);
		const fingerprint = `${req.method} ${url.pathname} ${canonical(params)}`;
		if (key !== undefined && req.method === 'POST') {
			const rec = st.idem.get(key);
			if (rec && rec.fingerprint !== fingerprint) {
				logCall(route, key, 400);
				stripeError(res, new StripeError(400, { type:
				    'idempotency_error', message: 'Keys for idempotent '
				    + 'requests can only be used with the same parameters '
				    + 'they were first used with. Try using a key other than '
				    + `'${key}' if you meant to execute a different request.` }));
				return;
			}
			if (rec && rec.inflight) {
				logCall(route, key, 409);
				stripeError(res, new StripeError(409, { type:
				    'idempotency_error', code: 'idempotency_key_in_use',
				    message: 'There is currently another in-progress '
				    + 'request using this Idempotent Key (that probably '
				    + 'means you submitted twice, and the other request is '
				    + `still going through): ${key}. Please try again later.` }));
				return;
			}
			if (rec) {
				logCall(route, key, rec.status);
				send(res, rec.status, rec.body, { 'idempotency-key': key,
				    'idempotent-replayed': 'true' });
				return;
			}
			st.idem.set(key, { fingerprint, inflight: true });
		}

		if (b && b.mode === 'slow')
			await new Promise((r) => setTimeout(r, b.delay_ms ?? 200));

		const events = [];
		let status, body;
		try {
			const out = found[3](params, found[2].exec(url.pathname), events);
			status = 200;
			body = JSON.stringify(out, null, 2);
		} catch (e) {
			if (!(e instanceof StripeError))
				throw e;
			status = e.status;
			body = JSON.stringify({ error: e.fields }, null, 2);
		}
		if (key !== undefined && req.method === 'POST')
			st.idem.set(key, { fingerprint, status, body });
		autoDeliver(events);

		if (b && (b.mode === 'drop' || b.mode === 'hang')) {
			logCall(route, key, `${b.mode}_after_effect`);
			if (b.mode === 'drop')
				req.socket.destroy();
			return;
		}
		logCall(route, key, status);
		send(res, status, body, key !== undefined ?
		    { 'idempotency-key': key } : {});
	}

	// --- the control API (tests only) ---
	function controlReply(res, status, obj) {
		send(res, status, JSON.stringify(obj));
	}

	function behaviour(p) {
		const routes = [...ROUTES, '*'];
		if (!routes.includes(p.route))
			throw new Error(`route must be one of ${routes.join(', ')}`);
		if (!MODES.includes(p.mode))
			throw new Error(`mode must be one of ${MODES.join(', ')}`);
		if (p.times !== undefined && !(Number.isInteger(p.times) &&
		    p.times > 0))
			throw new Error('times must be a positive integer');
		if (p.delay_ms !== undefined && !(Number.isInteger(p.delay_ms) &&
		    p.delay_ms >= 0 && p.delay_ms <= 600000))
			throw new Error('delay_ms must be 0 to 600000');
		st.behaviours = st.behaviours.filter((x) => x.route !== p.route);
		if (p.mode !== 'ok')
			st.behaviours.push({ route: p.route, mode: p.mode,
			    delay_ms: p.delay_ms, times: p.times,
			    after_effect: p.after_effect === true });
		return { behaviours: st.behaviours };
	}

	function eventObject(p) {
		const pi = st.intents.get(p.intent);
		if (!pi)
			throw new Error(`no such intent: ${p.intent}`);
		let obj;
		if (p.type.startsWith('charge.')) {
			const ch = st.charges.get(pi.latest_charge);
			if (!ch)
				throw new Error(`intent ${pi.id} has no charge`);
			obj = chargeWithRefunds(ch);
		} else {
			obj = publicIntent(pi);
		}
		return { ...obj, ...(p.override ?? {}) };
	}

	async function sendEvent(p) {
		if (typeof p.type !== 'string')
			throw new Error('type is required');
		const times = p.times ?? 1;
		if (!Number.isInteger(times) || times < 1 || times > 100)
			throw new Error('times must be 1 to 100');
		const ev = eventFor(p.type, eventObject(p), p);
		const payload = JSON.stringify(ev, null, 2);
		const header = sign(payload, p.secret ?? opts.webhookSecret,
		    p.timestamp);
		let sent = payload;
		if (p.tamper_body) {
			const t = JSON.parse(payload);
			if (typeof t.data.object.amount === 'number')
				t.data.object.amount += 1;
			else
				t.data.object.tampered = true;
			sent = JSON.stringify(t, null, 2);
		}
		const deliveries = [];
		for (let i = 0; i < times; i++) {
			const r = await deliver(sent, header);
			st.stats.webhooks.push({ event_id: ev.id, type: p.type,
			    status: r.status, auto: false });
			deliveries.push(r);
		}
		return { deliveries, event_id: ev.id, payload, header };
	}

	// The customer passes (or fails) 3-D Secure for an intent.
	function authenticate(pi, p) {
		if (pi.status !== 'requires_action')
			throw new Error(`intent ${pi.id} is ${pi.status}`);
		const events = [];
		if (p.result === 'fail') {
			pi.status = 'requires_payment_method';
			pi.next_action = null;
			pi.last_payment_error = { type: 'invalid_request_error',
			    code: 'payment_intent_authentication_failure',
			    message: 'The provided PaymentMethod has failed '
			    + 'authentication.' };
			pi.payment_method = null;
			events.push(['payment_intent.payment_failed', pi]);
		} else {
			succeed(pi, pi.payment_method, events);
		}
		autoDeliver(events);
		return { ...publicIntent(pi), refunds: pi.refunds };
	}

	async function handleControl(req, res, raw) {
		const path = new URL(req.url, 'http://standin').pathname;
		let p = {};
		if (req.method === 'POST' && raw !== '') {
			try {
				p = JSON.parse(raw);
			} catch {
				controlReply(res, 400, { error: 'body is not JSON' });
				return;
			}
		}
		try {
			let m;
			if (req.method === 'POST' && path === '/__control/reset') {
				reset();
				controlReply(res, 200, { reset: true });
			} else if (req.method === 'POST' &&
			    path === '/__control/behaviour') {
				controlReply(res, 200, behaviour(p));
			} else if (req.method === 'POST' &&
			    path === '/__control/webhooks') {
				if (typeof p.auto === 'boolean')
					st.autoWebhooks = p.auto;
				if (Number.isInteger(p.delay_ms) && p.delay_ms >= 0)
					st.webhookDelayMs = p.delay_ms;
				if (p.times !== undefined) {
					if (!Number.isInteger(p.times) || p.times < 1 ||
					    p.times > 10)
						throw new Error('times must be 1 to 10');
					st.webhookTimes = p.times;
				}
				if (typeof p.hold === 'boolean')
					st.holdWebhooks = p.hold;
				controlReply(res, 200, { auto: st.autoWebhooks,
				    delay_ms: st.webhookDelayMs, times: st.webhookTimes,
				    hold: st.holdWebhooks, held: st.held.length });
			} else if (req.method === 'POST' &&
			    path === '/__control/release') {
				controlReply(res, 200, await release(p));
			} else if (req.method === 'POST' &&
			    path === '/__control/send_event') {
				controlReply(res, 200, await sendEvent(p));
			} else if (req.method === 'POST' &&
			    path === '/__control/send_raw') {
				if (typeof p.payload !== 'string' ||
				    typeof p.header !== 'string')
					throw new Error('payload and header are strings');
				const r = await deliver(p.payload, p.header);
				st.stats.webhooks.push({ event_id: null, type: 'raw',
				    status: r.status, auto: false });
				controlReply(res, 200, { deliveries: [r] });
			} else if (req.method === 'POST' &&
			    path === '/__control/sign') {
				if (typeof p.payload !== 'string')
					throw new Error('payload is a string');
				controlReply(res, 200, { header: sign(p.payload,
				    p.secret ?? opts.webhookSecret, p.timestamp) });
			} else if (req.method === 'GET' &&
			    path === '/__control/stats') {
				controlReply(res, 200, st.stats);
			} else if ((m = /^\/__control\/intents\/([^/]+)$/.exec(path)) &&
			    req.method === 'GET') {
				const pi = st.intents.get(m[1]);
				if (!pi)
					controlReply(res, 404, { error: 'no such intent' });
				else
					controlReply(res, 200, { ...publicIntent(pi),
					    refunds: pi.refunds });
			} else if ((m = /^\/__control\/intents\/([^/]+)\/authenticate$/
			    .exec(path)) && req.method === 'POST') {
				const pi = st.intents.get(m[1]);
				if (!pi)
					controlReply(res, 404, { error: 'no such intent' });
				else
					controlReply(res, 200, authenticate(pi, p));
			} else {
				controlReply(res, 404, { error: 'no such control' });
			}
		} catch (e) {
			controlReply(res, 400, { error: e.message });
		}
	}

	const server = http.createServer((req, res) => {
		const chunks = [];
		let size = 0;
		req.on('data', (c) => {
			size += c.length;
			if (size > BODY_MAX) {
				req.socket.destroy();
				return;
			}
			chunks.push(c);
		});
		req.on('end', () => {
			const raw = Buffer.concat(chunks).toString('utf8');
			const handler = req.url.startsWith('/__control/') ?
			    handleControl : handleApi;
			handler(req, res, raw).catch((e) => {
				console.error('standin: internal error:', e);
				stripeError(res, new StripeError(500, { type: 'api_error',
				    message: 'stand-in internal error' }));
			});
		});
	});
	server.on('connection', (s) => {
		st.sockets.add(s);
		s.on('close', () => st.sockets.delete(s));
	});

	return {
		server,
		listen(port) {
			return new Promise((resolve, reject) => {
				server.once('error', reject);
				server.listen(port, '127.0.0.1', () =>
				    resolve(server.address().port));
			});
		},
		close() {
			for (const s of st.sockets)
				s.destroy();
			return new Promise((resolve) => server.close(() => resolve()));
		},
	};
}

async function main() {
	let opts;
	try {
		opts = parseArgs(process.argv);
	} catch (e) {
		console.error(`standin: ${e.message}`);
		process.exit(2);
	}
	const s = createStandin(opts);
	const port = await s.listen(opts.port);
	if (opts.pidfile)
		fs.writeFileSync(opts.pidfile, `${process.pid}\n`);
	const stop = () => {
		s.close().then(() => process.exit(0));
		setTimeout(() => process.exit(0), 1000).unref();
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
	console.log(`standin listening on ${port}`);
}

if (import.meta.url === `file://${process.argv[1]}` ||
    process.argv[1]?.endsWith('/standin.mjs'))
	main().catch((e) => {
		console.error(`standin: ${e.message}`);
		process.exit(1);
	});
