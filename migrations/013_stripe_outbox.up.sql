-- Payments through a real provider (Stripe, src/gateway_stripe.c): the
-- provider's intent of a payment, confirm outcomes that settle nothing yet
-- (3-D Secure's requires_action, a provider that did not answer), and the
-- outbox of provider calls that must happen after a commit (src/outbox.c).

-- The intent a payment got at the provider: the first one stays (the
-- provider's idempotency key makes every later create the same intent).
CREATE FUNCTION payment_intent_attach(p_payment bigint, p_ref text)
RETURNS void
LANGUAGE sql AS $$
	UPDATE payments SET provider_ref = p_ref, updated_at = now()
	WHERE id = p_payment AND provider_ref IS NULL
$$;

CREATE INDEX payments_provider_ref ON payments (provider_ref)
    WHERE provider_ref IS NOT NULL;

/*
 * 007's payment_confirm_finish, plus two answers of the provider that
 * settle nothing: 'requires_action' (the customer must authenticate;
 * answered as such) and 'unavailable' (no answer: 503, and the retry
 * charges again under the same provider key). Neither is kept as the
 * key's answer.
 */
CREATE OR REPLACE FUNCTION payment_confirm_finish(p_payment bigint, p_key text,
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
	ELSIF p_result IN ('requires_action', 'unavailable') THEN
		-- Nothing settled yet: the mark is lifted so that the next
		-- confirm (or a webhook) finishes it; the provider's key makes
		-- a repeated charge the same charge.
		UPDATE payments SET confirm_key = NULL,
		    confirm_fingerprint = NULL, confirm_started_at = NULL
		WHERE id = p_payment;
		PERFORM payment_log(p_payment, 'charge_' || p_result, 'client',
		    v_pay.status, v_pay.status, NULL);
		v_outcome := CASE p_result WHEN 'requires_action'
		    THEN 'requires_action' ELSE 'provider_unavailable' END;
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

	IF v_outcome NOT IN ('payment_in_progress', 'card_token_invalid',
	    'requires_action', 'provider_unavailable') THEN
		UPDATE payments SET confirm_outcome = v_outcome
		WHERE id = p_payment;
	END IF;

	RETURN QUERY SELECT v_outcome, NULL::bigint[], r.*, v_refund
	FROM payment_rows(ARRAY[p_payment]) r;
END
$$;

/*
 * POST /api/payments/webhooks/stripe, signature already verified: a
 * Stripe event about intent p_intent, which says it is our payment
 * p_payment of booking p_booking (its metadata) for p_amount p_currency.
 * Unless all of that is what we hold (the payment is Stripe's, of that
 * booking, with that intent, amount and currency) the event is refused
 * ('event_mismatch') and changes nothing, not even the record of its id.
 * Otherwise it is 007's gateway event, deduplicated by id there:
 * succeeded settles, payment_failed and canceled fail an open payment,
 * charge.refunded records a refund made at Stripe.
 */
CREATE FUNCTION stripe_event_apply(p_event_id text, p_type text,
    p_intent text, p_payment bigint, p_booking bigint, p_amount bigint,
    p_currency text)
RETURNS TABLE (outcome text, blocked bigint[], payment_id bigint,
    booking_id bigint, amount_cents bigint, currency text, status text,
    created_at text, updated_at text, refund_reason text,
    refund_due boolean, freed_show bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
	v_pay record;
BEGIN
	SELECT p.booking_id, p.provider, p.provider_ref, p.amount_cents,
	    lower(p.currency::text) AS currency INTO v_pay
	FROM payments p WHERE p.id = p_payment;
	IF NOT FOUND OR v_pay.provider <> 'stripe' OR
	    v_pay.booking_id <> p_booking OR
	    v_pay.provider_ref IS DISTINCT FROM p_intent OR
	    v_pay.amount_cents <> p_amount OR
	    v_pay.currency <> lower(p_currency) THEN
		outcome := 'event_mismatch';
		RETURN NEXT;
		RETURN;
	END IF;

	RETURN QUERY SELECT * FROM payment_event_apply(p_event_id,
	    CASE p_type
		WHEN 'payment_intent.succeeded' THEN 'payment.succeeded'
		WHEN 'payment_intent.payment_failed' THEN 'payment.failed'
		WHEN 'payment_intent.canceled' THEN 'payment.failed'
		WHEN 'charge.refunded' THEN 'refund.succeeded'
		ELSE p_type END, p_payment);
END
$$;

-- The outbox: provider calls that must happen after a commit, written in
-- the transaction that decides them and delivered by every worker's
-- timer (src/outbox.c). A row is claimed with a lease (locked_until, set
-- in one statement: Kore hands a connection back after each statement,
-- so no transaction is held open across the call); a deliverer that dies
-- mid-call loses its lease and the row is claimed again, and the call
-- repeats under the same provider idempotency key, so the provider acts
-- once. Retried with capped exponential backoff (computed by the
-- deliverer), dead after max attempts and then visible to admins.
CREATE TABLE payment_outbox (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	payment_id	bigint NOT NULL REFERENCES payments (id),
	kind		text NOT NULL CHECK (kind IN ('refund', 'cancel')),
	amount_cents	bigint NOT NULL CHECK (amount_cents >= 0),
	idempotency_key	text NOT NULL,
	status		text NOT NULL DEFAULT 'pending' CHECK (status IN
			    ('pending', 'delivered', 'failed', 'dead')),
	attempts	integer NOT NULL DEFAULT 0,
	next_attempt_at	timestamptz NOT NULL DEFAULT now(),
	locked_until	timestamptz,
	last_error	text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	delivered_at	timestamptz,
	CONSTRAINT payment_outbox_once UNIQUE (payment_id, kind)
);
CREATE INDEX payment_outbox_due ON payment_outbox (next_attempt_at)
    WHERE status = 'pending';

-- null: nothing to refund; pending until the provider confirmed.
ALTER TABLE bookings ADD COLUMN refund_status text
    CHECK (refund_status IN ('pending', 'succeeded', 'failed'));

/*
 * Every refund the service decides (refund_reason set: a cancel, or money
 * for a booking no longer payable) is a payment becoming 'refunded' in
 * some transition: this trigger writes its outbox row in that same
 * transaction. Refunds made at the gateway (refund_reason NULL) need no
 * call.
 */
CREATE FUNCTION payment_outbox_refund() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO payment_outbox (payment_id, kind, amount_cents,
	    idempotency_key)
	VALUES (NEW.id, 'refund', NEW.amount_cents,
	    'booking-pay-' || NEW.id || '-refund')
	ON CONFLICT ON CONSTRAINT payment_outbox_once DO NOTHING;
	UPDATE bookings SET refund_status = 'pending'
	WHERE id = NEW.booking_id AND refund_status IS NULL;
	RETURN NEW;
END
$$;

CREATE TRIGGER payments_refund_outbox AFTER UPDATE OF status ON payments
FOR EACH ROW WHEN (NEW.status = 'refunded' AND
    OLD.status IS DISTINCT FROM 'refunded' AND NEW.refund_reason IS NOT NULL)
EXECUTE FUNCTION payment_outbox_refund();

/*
 * A booking that stops being payable (cancelled, or found expired) leaves
 * its open payment's intent at the provider: the intent is cancelled
 * through the outbox, so a customer can no longer pay it. If the money
 * got there first the provider refuses the cancel (the row fails) and
 * the payment's webhook brings the refund instead.
 */
CREATE FUNCTION payment_outbox_abandon() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO payment_outbox (payment_id, kind, amount_cents,
	    idempotency_key)
	SELECT p.id, 'cancel', p.amount_cents,
	    'booking-pay-' || p.id || '-cancel'
	FROM payments p
	WHERE p.booking_id = NEW.id AND p.status = 'requires_confirmation'
	    AND p.provider_ref IS NOT NULL AND p.provider = 'stripe'
	ON CONFLICT ON CONSTRAINT payment_outbox_once DO NOTHING;
	RETURN NEW;
END
$$;

CREATE TRIGGER bookings_abandon_outbox AFTER UPDATE OF status ON bookings
FOR EACH ROW WHEN (NEW.status IN ('cancelled', 'expired') AND
    OLD.status = 'pending_payment')
EXECUTE FUNCTION payment_outbox_abandon();

/*
 * 007's booking_cancel, but a paid booking becomes 'cancelled' with
 * refund_status 'pending' (the trigger above), and 'refunded' only when
 * the outbox delivered the refund (outbox_finish).
 */
CREATE OR REPLACE FUNCTION booking_cancel(p_id bigint, p_user bigint)
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
		-- Refunded only once the provider confirmed it (outbox).
		UPDATE bookings SET cancelled_at = now(), status = 'cancelled'
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

/*
 * Up to p_limit due rows, leased for p_lease_ms to the caller: one
 * statement, so the lease holds whatever happens to the connection. Rows
 * another deliverer is claiming right now are skipped.
 */
CREATE FUNCTION outbox_claim(p_limit integer, p_lease_ms integer)
RETURNS TABLE (id bigint, payment_id bigint, kind text,
    amount_cents bigint, currency text, provider_ref text,
    idempotency_key text, attempts integer)
LANGUAGE sql AS $$
	WITH due AS (
		SELECT o.id FROM payment_outbox o
		WHERE o.status = 'pending' AND o.next_attempt_at <= now()
		    AND (o.locked_until IS NULL OR o.locked_until < now())
		ORDER BY o.next_attempt_at, o.id
		LIMIT p_limit
		FOR UPDATE SKIP LOCKED
	)
	UPDATE payment_outbox o SET attempts = o.attempts + 1,
	    locked_until = now() + make_interval(secs => p_lease_ms / 1000.0),
	    updated_at = now()
	FROM due, payments p
	WHERE o.id = due.id AND p.id = o.payment_id
	RETURNING o.id, o.payment_id, o.kind, o.amount_cents,
	    p.currency::text, p.provider_ref, o.idempotency_key, o.attempts
$$;

/*
 * What the provider said to a claimed row's call: 'succeeded' delivers it
 * (a refund: the booking's refund_status 'succeeded', and a cancelled
 * booking becomes 'refunded'); 'unavailable' tries again after
 * p_delay_ms, or is dead after p_max attempts; anything else (the
 * provider refused the call) fails it. A refund that will not happen
 * leaves refund_status 'failed', for an admin.
 */
CREATE FUNCTION outbox_finish(p_id bigint, p_result text, p_error text,
    p_max integer, p_delay_ms integer)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v_o record;
	v_status text;
BEGIN
	SELECT o.payment_id, o.kind, o.status, o.attempts, p.booking_id
	INTO v_o FROM payment_outbox o JOIN payments p ON p.id = o.payment_id
	WHERE o.id = p_id FOR UPDATE OF o;
	IF NOT FOUND OR v_o.status <> 'pending' THEN
		RETURN coalesce(v_o.status, 'missing');
	END IF;

	v_status := CASE
	    WHEN p_result = 'succeeded' THEN 'delivered'
	    WHEN p_result = 'unavailable' AND v_o.attempts < p_max
		THEN 'pending'
	    WHEN p_result = 'unavailable' THEN 'dead'
	    ELSE 'failed' END;

	UPDATE payment_outbox SET status = v_status, locked_until = NULL,
	    last_error = CASE WHEN v_status = 'delivered' THEN last_error
		ELSE left(p_error, 500) END,
	    next_attempt_at = CASE WHEN v_status = 'pending'
		THEN now() + make_interval(secs => p_delay_ms / 1000.0)
		ELSE next_attempt_at END,
	    delivered_at = CASE WHEN v_status = 'delivered' THEN now() END,
	    updated_at = now()
	WHERE id = p_id;

	IF v_o.kind = 'refund' AND v_status <> 'pending' THEN
		UPDATE bookings SET refund_status = CASE v_status
		    WHEN 'delivered' THEN 'succeeded' ELSE 'failed' END,
		    status = CASE WHEN v_status = 'delivered' AND
			status = 'cancelled' AND EXISTS (SELECT 1 FROM payments
			WHERE id = v_o.payment_id AND
			refund_reason = 'booking_cancelled')
			THEN 'refunded' ELSE status END
		WHERE id = v_o.booking_id;
		PERFORM payment_log(v_o.payment_id, 'refund_' || v_status,
		    'system', 'refunded', 'refunded', left(p_error, 200));
	END IF;
	RETURN v_status;
END
$$;
