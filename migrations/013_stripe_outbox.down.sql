-- Back to 007: no outbox, no refund_status, 007's booking_cancel and
-- payment_confirm_finish, without the intent helpers.
DROP FUNCTION IF EXISTS outbox_finish(bigint, text, text, integer, integer);
DROP FUNCTION IF EXISTS outbox_claim(integer, integer);
DROP TRIGGER IF EXISTS bookings_abandon_outbox ON bookings;
DROP FUNCTION IF EXISTS payment_outbox_abandon();
DROP TRIGGER IF EXISTS payments_refund_outbox ON payments;
DROP FUNCTION IF EXISTS payment_outbox_refund();
DROP TABLE IF EXISTS payment_outbox;
ALTER TABLE bookings DROP COLUMN IF EXISTS refund_status;
DROP FUNCTION IF EXISTS stripe_event_apply(text, text, text, bigint,
    bigint, bigint, text);
DROP INDEX IF EXISTS payments_provider_ref;
DROP FUNCTION IF EXISTS payment_intent_attach(bigint, text);

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
