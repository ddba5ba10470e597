-- Back to 005's booking functions, then drop what 007 added. The payment
-- history goes with the tables.
DROP FUNCTION IF EXISTS booking_cancel(bigint, bigint);
CREATE FUNCTION booking_cancel(p_id bigint, p_user bigint)
RETURNS TABLE (outcome text, blocked bigint[], booking_id bigint,
    show_id bigint, status text, total_cents bigint, currency text,
    created_at text, payment_due_at text, cancelled_at text, seat_id bigint,
    row_label text, seat_number integer, tier text, price_cents integer,
    seat_status text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
	v_b record;
BEGIN
	SELECT b.status, sh.start_time INTO v_b
	FROM bookings b JOIN shows sh ON sh.id = b.show_id
	WHERE b.id = p_id AND b.user_id = p_user
	FOR UPDATE OF b;
	IF NOT FOUND THEN
		outcome := 'booking_not_found';
		RETURN NEXT;
		RETURN;
	END IF;

	IF v_b.status IN ('pending_payment', 'confirmed') THEN
		IF v_b.start_time <= now() THEN
			outcome := 'cancellation_closed';
			RETURN NEXT;
			RETURN;
		END IF;
		UPDATE bookings SET status = 'cancelled', cancelled_at = now()
		WHERE id = p_id;
	ELSIF v_b.status <> 'cancelled' THEN
		outcome := 'booking_not_cancellable';
		RETURN NEXT;
		RETURN;
	END IF;

	RETURN QUERY SELECT 'cancelled'::text, NULL::bigint[], r.*
	FROM booking_rows(ARRAY[p_id]) r;
END
$$;

CREATE OR REPLACE FUNCTION booking_rows(p_ids bigint[])
RETURNS TABLE (booking_id bigint, show_id bigint, status text,
    total_cents bigint, currency text, created_at text, payment_due_at text,
    cancelled_at text, seat_id bigint, row_label text, seat_number integer,
    tier text, price_cents integer, seat_status text)
LANGUAGE sql STABLE AS $$
	SELECT b.id, b.show_id, b.status, b.total_cents, b.currency::text,
	    booking_rfc3339(b.created_at), booking_rfc3339(b.payment_due_at),
	    booking_rfc3339(b.cancelled_at), s.id, s.row_label, s.number,
	    s.tier, bs.price_cents,
	    CASE WHEN bs.live THEN 'booked' ELSE ss.status END
	FROM unnest(p_ids) WITH ORDINALITY AS u(id, ord)
	JOIN bookings b ON b.id = u.id
	JOIN booking_seats bs ON bs.booking_id = b.id
	JOIN seats s ON s.id = bs.seat_id
	JOIN seat_states ss ON ss.seat_id = s.id
	ORDER BY u.ord, s.id
$$;

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
		UNION ALL
		SELECT hs.seat_id FROM hold_seats hs
		JOIN holds h ON h.id = hs.hold_id
		WHERE h.user_id = p_user AND h.show_id = p_show
		AND h.released_at IS NULL AND h.expires_at > now()) c;
	RETURN v_count;
END
$$;

DROP FUNCTION IF EXISTS payment_event_apply(text, text, bigint);
DROP FUNCTION IF EXISTS payment_confirm_finish(bigint, text, text, text);
DROP FUNCTION IF EXISTS payment_confirm_begin(bigint, bigint, text, text,
    integer);
DROP FUNCTION IF EXISTS payment_initiate(bigint, bigint, text, text, text);
DROP FUNCTION IF EXISTS payment_settle(bigint, text, text, text);
DROP FUNCTION IF EXISTS payment_log(bigint, text, text, text, text, text);
DROP FUNCTION IF EXISTS booking_lock(bigint);
DROP FUNCTION IF EXISTS payment_rows(bigint[]);
DROP TABLE IF EXISTS payment_events;
DROP TABLE IF EXISTS payments;
DROP FUNCTION IF EXISTS payments_keep_history();
DROP FUNCTION IF EXISTS booking_status_now(text, timestamptz);
