-- Payments: a booking is paid through a payment provider (src/payments.c;
-- the mock gateway decides by card token), and every change of a booking's
-- or a payment's state is one transition function below: one statement,
-- one transaction, the current state checked under a row lock.
--
-- The state machine (the one place it is written down):
--
-- Booking                 event                                by
--   (new) -> pending_payment  POST /api/bookings, PAYMENTS on    owner
--   (new) -> confirmed        POST /api/bookings, PAYMENTS off   owner
--   pending_payment -> confirmed   money arrived while payable   confirm or
--                                  (payment_settle)              gateway event
--   pending_payment -> expired     payment_due_at passed         time
--   pending_payment -> cancelled   cancel                        owner
--   confirmed -> refunded     cancel (its payment is refunded)   owner
--   confirmed -> refunded     refund.succeeded                   gateway
--   confirmed -> cancelled    cancel, no payment (PAYMENTS off)  owner
--   expired, cancelled, refunded are final.
--
-- Expiry is part of the availability rule (005): a pending_payment booking
-- past payment_due_at is not live, whatever its row says. The row is moved
-- to 'expired' by the next transition that locks it (booking_lock) or that
-- claims its seats (booking_claim); nothing needs to sweep.
--
-- Payment                 event                                by
--   (new) -> requires_confirmation  initiate; booking payable    owner
--   requires_confirmation -> succeeded   money arrived, booking  confirm or
--                                        payable                 gateway
--   requires_confirmation -> refunded    money arrived, booking  confirm or
--     (refund_reason booking_not_payable) not payable any more   gateway
--   requires_confirmation -> failed      card declined           confirm or
--                                                                gateway
--   failed -> succeeded | refunded       money arrived after all gateway
--   succeeded -> refunded (booking_cancelled)  cancel            owner
--   succeeded -> refunded (no reason)    refund.succeeded        gateway
--
-- "Payable" means: the booking is pending_payment and payment_due_at is in
-- the future, read under the booking's row lock. Money that arrives for a
-- booking that is not payable never takes seats back: the payment becomes
-- refunded in the same transaction (payment_settle), and the server asks
-- the provider to return it.
--
-- Locks are always taken booking row first, then payment row, so no two
-- transitions wait on each other in a cycle. A gateway event first inserts
-- its id into payment_events (unique): a second delivery of the same event
-- waits for the first to commit, then finds the id and changes nothing.
--
-- A confirm that charges the card runs in two transitions around the
-- provider's charge: payment_confirm_begin marks the payment as being
-- charged under this Idempotency-Key (a second confirm is refused while
-- it is, so a card is never charged twice), payment_confirm_finish applies
-- the provider's answer. Whatever happened in between (a cancel, expiry, a
-- gateway event) is seen by finish under the locks.
--
-- Nothing is deleted: payments and payment_events refuse DELETE, and
-- payment_events refuses UPDATE (it is the history).

CREATE TABLE payments (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	booking_id	bigint NOT NULL REFERENCES bookings (id),
	user_id		bigint NOT NULL REFERENCES users (id),
	amount_cents	bigint NOT NULL CHECK (amount_cents >= 0),
	currency	char(3) NOT NULL,
	status		text NOT NULL CHECK (status IN ('requires_confirmation',
			    'succeeded', 'failed', 'refunded')),
	refund_reason	text CHECK (refund_reason IN ('booking_cancelled',
			    'booking_not_payable')),
	provider	text NOT NULL,
	provider_ref	text,
	-- The Idempotency-Key of the initiate that made it, and of the
	-- confirm that charged it (with what that confirm answered).
	initiate_key	text CHECK (length(initiate_key) BETWEEN 1 AND 255),
	initiate_fingerprint text,
	confirm_key	text CHECK (length(confirm_key) BETWEEN 1 AND 255),
	confirm_fingerprint text,
	confirm_started_at timestamptz,
	confirm_outcome	text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CHECK (refund_reason IS NULL OR status = 'refunded'),
	CONSTRAINT payments_user_initiate_key UNIQUE (user_id, initiate_key),
	CONSTRAINT payments_user_confirm_key UNIQUE (user_id, confirm_key)
);
CREATE INDEX payments_booking ON payments (booking_id, id);
-- At most one open payment per booking, and at most one holding money.
CREATE UNIQUE INDEX payments_one_open ON payments (booking_id)
    WHERE status = 'requires_confirmation';
CREATE UNIQUE INDEX payments_one_succeeded ON payments (booking_id)
    WHERE status = 'succeeded';

CREATE TABLE payment_events (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	payment_id	bigint REFERENCES payments (id),
	-- The gateway's event id; NULL for our own transitions.
	event_id	text UNIQUE CHECK (length(event_id) BETWEEN 1 AND 255),
	type		text NOT NULL,
	source		text NOT NULL CHECK (source IN ('client', 'gateway',
			    'system')),
	status_before	text,
	status_after	text,
	detail		text,
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_events_payment ON payment_events (payment_id, id);

CREATE FUNCTION payments_keep_history() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% on % is not allowed: payment history is kept',
	    TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments
FOR EACH ROW EXECUTE FUNCTION payments_keep_history();
CREATE TRIGGER payment_events_append_only BEFORE UPDATE OR DELETE
ON payment_events FOR EACH ROW EXECUTE FUNCTION payments_keep_history();

-- A booking's status as the availability rule sees it now.
CREATE FUNCTION booking_status_now(p_status text, p_due timestamptz)
RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN p_status = 'pending_payment' AND p_due <= now()
	    THEN 'expired' ELSE p_status END
$$;

-- 005's booking_rows, answering the status as it is now: a lapsed
-- pending_payment booking reads 'expired' and its seats as they are.
CREATE OR REPLACE FUNCTION booking_rows(p_ids bigint[])
RETURNS TABLE (booking_id bigint, show_id bigint, status text,
    total_cents bigint, currency text, created_at text, payment_due_at text,
    cancelled_at text, seat_id bigint, row_label text, seat_number integer,
    tier text, price_cents integer, seat_status text)
LANGUAGE sql STABLE AS $$
	SELECT b.id, b.show_id, booking_status_now(b.status, b.payment_due_at),
	    b.total_cents, b.currency::text,
	    booking_rfc3339(b.created_at), booking_rfc3339(b.payment_due_at),
	    booking_rfc3339(b.cancelled_at), s.id, s.row_label, s.number,
	    s.tier, bs.price_cents,
	    CASE WHEN bs.live AND booking_status_live(booking_status_now(
		b.status, b.payment_due_at)) THEN 'booked' ELSE ss.status END
	FROM unnest(p_ids) WITH ORDINALITY AS u(id, ord)
	JOIN bookings b ON b.id = u.id
	JOIN booking_seats bs ON bs.booking_id = b.id
	JOIN seats s ON s.id = bs.seat_id
	JOIN seat_states ss ON ss.seat_id = s.id
	ORDER BY u.ord, s.id
$$;

-- 005's seat_claim_count, not counting a lapsed pending_payment booking
-- against the user's seat limit (it holds no seats).
CREATE OR REPLACE FUNCTION seat_claim_count(p_user bigint, p_show bigint,
    p_seats bigint[]) RETURNS integer
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_count integer;
BEGIN
	SELECT count(DISTINCT id)::integer INTO v_count FROM (
		SELECT unnest(p_seats) AS id
		UNION ALL
		SELECT bs.seat_id FROM booking_seats bs
		JOIN bookings b ON b.id = bs.booking_id
		WHERE b.user_id = p_user AND b.show_id = p_show AND bs.live
		AND NOT (b.status = 'pending_payment' AND
		    b.payment_due_at <= now())
		UNION ALL
		SELECT hs.seat_id FROM hold_seats hs
		JOIN holds h ON h.id = hs.hold_id
		WHERE h.user_id = p_user AND h.show_id = p_show
		AND h.released_at IS NULL AND h.expires_at > now()) c;
	RETURN v_count;
END
$$;

-- One row per payment in p_ids, in that order: the shape payments.c turns
-- into JSON.
CREATE FUNCTION payment_rows(p_ids bigint[])
RETURNS TABLE (payment_id bigint, booking_id bigint, amount_cents bigint,
    currency text, status text, created_at text, updated_at text,
    refund_reason text)
LANGUAGE sql STABLE AS $$
	SELECT p.id, p.booking_id, p.amount_cents, p.currency::text, p.status,
	    booking_rfc3339(p.created_at), booking_rfc3339(p.updated_at),
	    p.refund_reason
	FROM unnest(p_ids) WITH ORDINALITY AS u(id, ord)
	JOIN payments p ON p.id = u.id
	ORDER BY u.ord
$$;

/*
 * Locks a booking row and answers its status, moving a lapsed
 * pending_payment booking to 'expired' first; NULL when there is none.
 * Every transition below starts here.
 */
CREATE FUNCTION booking_lock(p_booking bigint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v_b record;
BEGIN
	SELECT b.status, b.payment_due_at INTO v_b FROM bookings b
	WHERE b.id = p_booking FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	IF booking_status_now(v_b.status, v_b.payment_due_at) <>
	    v_b.status THEN
		UPDATE bookings SET status = 'expired' WHERE id = p_booking;
		RETURN 'expired';
	END IF;
	RETURN v_b.status;
END
$$;

-- One line of history for a payment's transition.
CREATE FUNCTION payment_log(p_payment bigint, p_type text, p_source text,
    p_before text, p_after text, p_detail text) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO payment_events (payment_id, type, source, status_before,
	    status_after, detail)
	VALUES (p_payment, p_type, p_source, p_before, p_after, p_detail)
$$;

/*
 * Money arrived for payment p_payment (locked, requires_confirmation or
 * failed) whose booking is locked with status p_booking_status. The one
 * rule: a payable booking becomes confirmed; otherwise the money goes
 * back at once (refunded, booking_not_payable) and the seats are never
 * taken back. Answers 'succeeded' or 'booking_not_payable'.
 */
CREATE FUNCTION payment_settle(p_payment bigint, p_booking_status text,
    p_source text, p_ref text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v_p record;
BEGIN
	SELECT p.booking_id, p.status INTO v_p FROM payments p
	WHERE p.id = p_payment;

	IF p_booking_status = 'pending_payment' THEN
		UPDATE payments SET status = 'succeeded', updated_at = now(),
		    provider_ref = coalesce(p_ref, provider_ref)
		WHERE id = p_payment;
		UPDATE bookings SET status = 'confirmed'
		WHERE id = v_p.booking_id;
		PERFORM payment_log(p_payment, 'succeeded', p_source,
		    v_p.status, 'succeeded', NULL);
		RETURN 'succeeded';
	END IF;

	UPDATE payments SET status = 'refunded', updated_at = now(),
	    refund_reason = 'booking_not_payable',
	    provider_ref = coalesce(p_ref, provider_ref)
	WHERE id = p_payment;
	PERFORM payment_log(p_payment, 'refunded', p_source, v_p.status,
	    'refunded', 'booking_not_payable: booking is ' ||
	    p_booking_status);
	RETURN 'booking_not_payable';
END
$$;

/*
 * POST /api/payments/initiate by the booking's owner. Outcomes:
 * 'created' (a new payment, or the one this Idempotency-Key made before),
 * 'open' (the booking's payment that is already requires_confirmation),
 * 'booking_not_found', 'booking_not_payable', 'idempotency_key_reused'.
 * The key is looked up under the booking's lock, so two attempts with one
 * key run one after the other; payments_user_initiate_key catches keys
 * used on two bookings at once (23505, retried by the server).
 */
CREATE FUNCTION payment_initiate(p_user bigint, p_booking bigint,
    p_key text, p_fingerprint text, p_provider text)
RETURNS TABLE (outcome text, blocked bigint[], payment_id bigint,
    booking_id bigint, amount_cents bigint, currency text, status text,
    created_at text, updated_at text, refund_reason text,
    refund_due boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
	v_status text;
	v_pay record;
	v_id bigint;
BEGIN
	PERFORM 1 FROM bookings b WHERE b.id = p_booking AND b.user_id = p_user;
	IF NOT FOUND THEN
		outcome := 'booking_not_found';
		RETURN NEXT;
		RETURN;
	END IF;
	v_status := booking_lock(p_booking);

	SELECT p.id, p.initiate_fingerprint AS fingerprint INTO v_pay
	FROM payments p
	WHERE p.user_id = p_user AND p.initiate_key = p_key;
	IF FOUND THEN
		IF v_pay.fingerprint IS DISTINCT FROM p_fingerprint THEN
			outcome := 'idempotency_key_reused';
			RETURN NEXT;
			RETURN;
		END IF;
		RETURN QUERY SELECT 'created'::text, NULL::bigint[], r.*, false
		FROM payment_rows(ARRAY[v_pay.id]) r;
		RETURN;
	END IF;

	IF v_status <> 'pending_payment' THEN
		outcome := 'booking_not_payable';
		RETURN NEXT;
		RETURN;
	END IF;

	SELECT p.id INTO v_id FROM payments p
	WHERE p.booking_id = p_booking AND p.status = 'requires_confirmation';
	IF FOUND THEN
		RETURN QUERY SELECT 'open'::text, NULL::bigint[], r.*, false
		FROM payment_rows(ARRAY[v_id]) r;
		RETURN;
	END IF;

	INSERT INTO payments (booking_id, user_id, amount_cents, currency,
	    status, provider, initiate_key, initiate_fingerprint)
	SELECT b.id, b.user_id, b.total_cents, b.currency,
	    'requires_confirmation', p_provider, p_key, p_fingerprint
	FROM bookings b WHERE b.id = p_booking
	RETURNING id INTO v_id;
	PERFORM payment_log(v_id, 'initiated', 'client', NULL,
	    'requires_confirmation', NULL);

	RETURN QUERY SELECT 'created'::text, NULL::bigint[], r.*, false
	FROM payment_rows(ARRAY[v_id]) r;
END
$$;

/*
 * POST /api/payments/confirm, before the card is charged. Outcome
 * 'charge': the payment is marked as being charged under p_key and the
 * server may charge it. Otherwise the answer without charging:
 * 'succeeded' (already paid, e.g. by a gateway event), the outcome this
 * key answered before ('succeeded', 'payment_declined',
 * 'booking_not_payable'), 'confirm_in_flight' (this key is charging right
 * now), 'payment_in_progress' (another confirm is), 'payment_not_found',
 * 'payment_not_confirmable' (failed), 'booking_not_payable' (expired,
 * cancelled, or the money went back), 'idempotency_key_reused'.
 *
 * A charge mark older than p_stale_seconds belonged to a server that died
 * mid-charge and may be taken over (providers dedupe charges by payment).
 */
CREATE FUNCTION payment_confirm_begin(p_user bigint, p_payment bigint,
    p_key text, p_fingerprint text, p_stale_seconds integer)
RETURNS TABLE (outcome text, blocked bigint[], payment_id bigint,
    booking_id bigint, amount_cents bigint, currency text, status text,
    created_at text, updated_at text, refund_reason text,
    refund_due boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
	v_booking bigint;
	v_bstatus text;
	v_key record;
	v_pay record;
	v_outcome text;
BEGIN
	SELECT p.booking_id INTO v_booking FROM payments p
	WHERE p.id = p_payment AND p.user_id = p_user;
	IF NOT FOUND THEN
		outcome := 'payment_not_found';
		RETURN NEXT;
		RETURN;
	END IF;
	v_bstatus := booking_lock(v_booking);

	SELECT p.id, p.confirm_fingerprint AS fingerprint,
	    p.confirm_outcome AS answered INTO v_key
	FROM payments p WHERE p.user_id = p_user AND p.confirm_key = p_key;
	IF FOUND THEN
		IF v_key.fingerprint IS DISTINCT FROM p_fingerprint THEN
			outcome := 'idempotency_key_reused';
			RETURN NEXT;
			RETURN;
		END IF;
		RETURN QUERY SELECT coalesce(v_key.answered,
		    'confirm_in_flight'), NULL::bigint[], r.*, false
		FROM payment_rows(ARRAY[v_key.id]) r;
		RETURN;
	END IF;

	SELECT p.status, p.confirm_key, p.confirm_started_at INTO v_pay
	FROM payments p WHERE p.id = p_payment FOR UPDATE;

	v_outcome := CASE
	    WHEN v_pay.status = 'succeeded' THEN 'succeeded'
	    WHEN v_pay.status = 'failed' THEN 'payment_not_confirmable'
	    WHEN v_pay.status = 'refunded' THEN 'booking_not_payable'
	    WHEN v_pay.confirm_key IS NOT NULL AND v_pay.confirm_started_at >
		now() - make_interval(secs => p_stale_seconds)
		THEN 'payment_in_progress'
	    WHEN v_bstatus <> 'pending_payment' THEN 'booking_not_payable'
	    ELSE 'charge' END;

	IF v_outcome = 'charge' THEN
		UPDATE payments SET confirm_key = p_key,
		    confirm_fingerprint = p_fingerprint,
		    confirm_started_at = now(), confirm_outcome = NULL
		WHERE id = p_payment;
		PERFORM payment_log(p_payment, 'charge_started', 'client',
		    v_pay.status, v_pay.status, NULL);
	END IF;

	RETURN QUERY SELECT v_outcome, NULL::bigint[], r.*, false
	FROM payment_rows(ARRAY[p_payment]) r;
END
$$;

/*
 * POST /api/payments/confirm, after the provider answered p_result
 * ('succeeded', 'declined' or 'invalid') to the charge begun under p_key.
 * Outcomes: 'succeeded', 'payment_declined', 'card_token_invalid' (the
 * mark is lifted: nothing was charged), 'booking_not_payable' (the booking
 * lapsed or was cancelled during the charge: refunded, refund_due),
 * 'payment_in_progress' (another confirm took the payment over). What this
 * key answered is kept for payment_confirm_begin.
 */
CREATE FUNCTION payment_confirm_finish(p_payment bigint, p_key text,
    p_result text, p_ref text)
RETURNS TABLE (outcome text, blocked bigint[], payment_id bigint,
    booking_id bigint, amount_cents bigint, currency text, status text,
    created_at text, updated_at text, refund_reason text,
    refund_due boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
	v_booking bigint;
	v_bstatus text;
	v_pay record;
	v_outcome text;
	v_refund boolean := false;
BEGIN
	SELECT p.booking_id INTO v_booking FROM payments p
	WHERE p.id = p_payment;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'payment_confirm_finish: no payment %',
		    p_payment;
	END IF;
	v_bstatus := booking_lock(v_booking);
	SELECT p.status, p.confirm_key INTO v_pay FROM payments p
	WHERE p.id = p_payment FOR UPDATE;

	IF v_pay.confirm_key IS DISTINCT FROM p_key THEN
		v_outcome := 'payment_in_progress';
	ELSIF p_result = 'invalid' THEN
		UPDATE payments SET confirm_key = NULL,
		    confirm_fingerprint = NULL, confirm_started_at = NULL
		WHERE id = p_payment;
		PERFORM payment_log(p_payment, 'charge_refused', 'client',
		    v_pay.status, v_pay.status, 'card token not accepted');
		v_outcome := 'card_token_invalid';
	ELSIF p_result = 'succeeded' AND
	    v_pay.status IN ('requires_confirmation', 'failed') THEN
		v_outcome := payment_settle(p_payment, v_bstatus, 'client',
		    p_ref);
		v_refund := v_outcome = 'booking_not_payable';
	ELSIF p_result = 'declined' AND
	    v_pay.status = 'requires_confirmation' THEN
		UPDATE payments SET status = 'failed', updated_at = now()
		WHERE id = p_payment;
		PERFORM payment_log(p_payment, 'failed', 'client',
		    v_pay.status, 'failed', 'card declined');
		v_outcome := 'payment_declined';
	ELSE
		-- Settled meanwhile (a gateway event): answer what it is.
		v_outcome := CASE v_pay.status
		    WHEN 'succeeded' THEN 'succeeded'
		    WHEN 'failed' THEN 'payment_declined'
		    ELSE 'booking_not_payable' END;
	END IF;

	IF v_outcome NOT IN ('payment_in_progress', 'card_token_invalid') THEN
		UPDATE payments SET confirm_outcome = v_outcome
		WHERE id = p_payment;
	END IF;

	RETURN QUERY SELECT v_outcome, NULL::bigint[], r.*, v_refund
	FROM payment_rows(ARRAY[p_payment]) r;
END
$$;

/*
 * POST /api/payments/mock-callback, signature already verified: a gateway
 * event, applied in the transaction that records its id. Outcomes:
 * 'duplicate' (the id was seen: nothing changes), 'applied', 'ignored'
 * (nothing to do in the payment's state, or an unknown payment), and
 * refund_due when money arrived for a booking that is not payable.
 * freed_show is the show whose seats a refund at the gateway freed.
 */
CREATE FUNCTION payment_event_apply(p_event_id text, p_type text,
    p_payment bigint)
RETURNS TABLE (outcome text, blocked bigint[], payment_id bigint,
    booking_id bigint, amount_cents bigint, currency text, status text,
    created_at text, updated_at text, refund_reason text,
    refund_due boolean, freed_show bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
	v_booking bigint;
	v_bstatus text;
	v_pay record;
	v_event bigint;
	v_outcome text := 'ignored';
	v_refund boolean := false;
	v_freed bigint;
BEGIN
	SELECT p.booking_id INTO v_booking FROM payments p
	WHERE p.id = p_payment;
	IF NOT FOUND THEN
		v_booking := NULL;
	END IF;

	INSERT INTO payment_events (payment_id, event_id, type, source)
	VALUES (CASE WHEN v_booking IS NULL THEN NULL ELSE p_payment END,
	    p_event_id, p_type, 'gateway')
	ON CONFLICT (event_id) DO NOTHING
	RETURNING id INTO v_event;
	IF v_event IS NULL THEN
		outcome := 'duplicate';
		RETURN NEXT;
		RETURN;
	END IF;
	IF v_booking IS NULL THEN
		outcome := 'ignored';
		RETURN NEXT;
		RETURN;
	END IF;

	v_bstatus := booking_lock(v_booking);
	SELECT p.status INTO v_pay FROM payments p
	WHERE p.id = p_payment FOR UPDATE;

	IF p_type = 'payment.succeeded' AND
	    v_pay.status IN ('requires_confirmation', 'failed') THEN
		v_refund := payment_settle(p_payment, v_bstatus, 'gateway',
		    NULL) = 'booking_not_payable';
		v_outcome := 'applied';
	ELSIF p_type = 'payment.failed' AND
	    v_pay.status = 'requires_confirmation' THEN
		UPDATE payments SET status = 'failed', updated_at = now()
		WHERE id = p_payment;
		PERFORM payment_log(p_payment, 'failed', 'gateway',
		    v_pay.status, 'failed', NULL);
		v_outcome := 'applied';
	ELSIF p_type = 'refund.succeeded' AND v_pay.status = 'succeeded' THEN
		UPDATE payments SET status = 'refunded', updated_at = now()
		WHERE id = p_payment;
		UPDATE bookings b SET status = 'refunded'
		WHERE b.id = v_booking AND b.status = 'confirmed'
		RETURNING b.show_id INTO v_freed;
		PERFORM payment_log(p_payment, 'refunded', 'gateway',
		    v_pay.status, 'refunded', 'refunded at the gateway');
		v_outcome := 'applied';
	END IF;

	RETURN QUERY SELECT v_outcome, NULL::bigint[], r.*, v_refund, v_freed
	FROM payment_rows(ARRAY[p_payment]) r;
END
$$;

/*
 * POST /api/bookings/{id}/cancel by its owner (005's, with payments): one
 * row per seat with outcome 'cancelled' (also when it already was
 * cancelled or refunded), or one row with 'booking_not_found',
 * 'cancellation_closed' (the show has started) or
 * 'booking_not_cancellable' (expired). A confirmed booking with a
 * succeeded payment becomes 'refunded' and so does its payment
 * (booking_cancelled): refund_payment names it, for the provider. Seats
 * are freed by the status trigger.
 */
DROP FUNCTION booking_cancel(bigint, bigint);
CREATE FUNCTION booking_cancel(p_id bigint, p_user bigint)
RETURNS TABLE (outcome text, blocked bigint[], booking_id bigint,
    show_id bigint, status text, total_cents bigint, currency text,
    created_at text, payment_due_at text, cancelled_at text, seat_id bigint,
    row_label text, seat_number integer, tier text, price_cents integer,
    seat_status text, refund_payment bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
	v_start timestamptz;
	v_status text;
	v_refund bigint;
BEGIN
	SELECT sh.start_time INTO v_start
	FROM bookings b JOIN shows sh ON sh.id = b.show_id
	WHERE b.id = p_id AND b.user_id = p_user;
	IF NOT FOUND THEN
		outcome := 'booking_not_found';
		RETURN NEXT;
		RETURN;
	END IF;
	v_status := booking_lock(p_id);

	IF v_status IN ('pending_payment', 'confirmed') THEN
		IF v_start <= now() THEN
			outcome := 'cancellation_closed';
			RETURN NEXT;
			RETURN;
		END IF;
		UPDATE payments p SET status = 'refunded',
		    refund_reason = 'booking_cancelled', updated_at = now()
		WHERE p.booking_id = p_id AND p.status = 'succeeded'
		RETURNING p.id INTO v_refund;
		IF v_refund IS NOT NULL THEN
			PERFORM payment_log(v_refund, 'refunded', 'client',
			    'succeeded', 'refunded', 'booking_cancelled');
		END IF;
		UPDATE bookings SET cancelled_at = now(),
		    status = CASE WHEN v_refund IS NULL THEN 'cancelled'
			ELSE 'refunded' END
		WHERE id = p_id;
	ELSIF v_status NOT IN ('cancelled', 'refunded') THEN
		outcome := 'booking_not_cancellable';
		RETURN NEXT;
		RETURN;
	END IF;

	RETURN QUERY SELECT 'cancelled'::text, NULL::bigint[], r.*, v_refund
	FROM booking_rows(ARRAY[p_id]) r;
END
$$;
