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
