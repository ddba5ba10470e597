-- Back to 011's seat_free_at_least and 005's booking_claim (with 011's
-- plan settings).
ALTER FUNCTION hold_claim_best(bigint, bigint, integer, text, integer,
    integer) RESET enable_bitmapscan;
CREATE OR REPLACE FUNCTION seat_free_at_least(p_show bigint, p_min integer)
RETURNS boolean
LANGUAGE sql STABLE SET enable_bitmapscan = off SET enable_seqscan = off
AS $$
	SELECT count(*) >= p_min FROM (SELECT 1 FROM seat_busy b
	    WHERE b.show_id = p_show AND b.row_label = ANY (ARRAY(
	    SELECT sr.label FROM shows sh
	    JOIN screen_rows sr ON sr.screen_id = sh.screen_id
	    WHERE sh.id = p_show))
	    AND b.busy_until <= now() LIMIT p_min) c
$$;
DROP INDEX IF EXISTS seat_busy_show;

CREATE OR REPLACE FUNCTION booking_claim(p_user bigint, p_show bigint, p_seats bigint[],
    p_hold bigint, p_key text, p_fingerprint text, p_limit integer,
    p_payment_window interval)
RETURNS TABLE (outcome text, blocked bigint[], booking_id bigint,
    show_id bigint, status text, total_cents bigint, currency text,
    created_at text, payment_due_at text, cancelled_at text, seat_id bigint,
    row_label text, seat_number integer, tier text, price_cents integer,
    seat_status text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
	v_show bigint := p_show;
	v_seats bigint[] := p_seats;
	v_hold record;
	v_check record;
	v_existing record;
	v_status text;
	v_id bigint;
BEGIN
	IF p_hold IS NOT NULL THEN
		SELECT h.show_id, h.expires_at, h.released_at,
		    array_agg(hs.seat_id ORDER BY hs.seat_id) AS seats
		INTO v_hold
		FROM holds h JOIN hold_seats hs ON hs.hold_id = h.id
		WHERE h.id = p_hold AND h.user_id = p_user
		GROUP BY h.id;
		IF NOT FOUND THEN
			outcome := 'hold_not_found';
			RETURN NEXT;
			RETURN;
		END IF;
		IF v_show IS NOT NULL AND v_show <> v_hold.show_id THEN
			outcome := 'hold_show_mismatch';
			RETURN NEXT;
			RETURN;
		END IF;
		v_show := v_hold.show_id;
		v_seats := v_hold.seats;
	END IF;

	-- Serialise on (user, show) before looking at the key.
	PERFORM pg_advisory_xact_lock(hashtextextended(
	    'claim:' || p_user || ':' || v_show, 0));

	IF p_key IS NOT NULL THEN
		SELECT b.id, b.request_fingerprint INTO v_existing
		FROM bookings b
		WHERE b.user_id = p_user AND b.idempotency_key = p_key;
		IF FOUND THEN
			IF v_existing.request_fingerprint IS DISTINCT FROM
			    p_fingerprint THEN
				outcome := 'idempotency_key_reused';
				RETURN NEXT;
				RETURN;
			END IF;
			RETURN QUERY SELECT 'existing'::text, NULL::bigint[],
			    r.* FROM booking_rows(ARRAY[v_existing.id]) r;
			RETURN;
		END IF;
	END IF;

	IF p_hold IS NOT NULL THEN
		PERFORM 1 FROM holds h WHERE h.id = p_hold FOR UPDATE;
		SELECT h.expires_at, h.released_at INTO v_hold
		FROM holds h WHERE h.id = p_hold;
		IF v_hold.released_at IS NOT NULL OR
		    v_hold.expires_at <= now() THEN
			outcome := 'hold_expired';
			RETURN NEXT;
			RETURN;
		END IF;
	END IF;

	v_check := seat_claim_check(p_user, v_show, v_seats, p_limit);
	IF v_check.outcome IS NOT NULL THEN
		outcome := v_check.outcome;
		blocked := v_check.blocked;
		RETURN NEXT;
		RETURN;
	END IF;

	-- A pending_payment booking past payment_due_at no longer counts
	-- (the rule above) but its seat rows are still marked live: expire
	-- it now, under the seat locks, so the live index lets ours in.
	UPDATE bookings b SET status = 'expired'
	WHERE b.status = 'pending_payment' AND b.payment_due_at <= now()
	AND b.id IN (SELECT bs.booking_id FROM booking_seats bs
	    WHERE bs.seat_id = ANY (v_seats) AND bs.live);

	v_status := CASE WHEN p_payment_window IS NULL THEN 'confirmed'
	    ELSE 'pending_payment' END;
	INSERT INTO bookings (user_id, show_id, hold_id, status, total_cents,
	    currency, idempotency_key, request_fingerprint, payment_due_at)
	SELECT p_user, v_show, p_hold, v_status,
	    (SELECT coalesce(sum(s.price_cents), 0) FROM seats s
	    WHERE s.id = ANY (v_seats)),
	    sh.currency, p_key, p_fingerprint, now() + p_payment_window
	FROM shows sh WHERE sh.id = v_show
	RETURNING id INTO v_id;

	INSERT INTO booking_seats (booking_id, seat_id, price_cents, live)
	SELECT v_id, s.id, s.price_cents, booking_status_live(v_status)
	FROM seats s WHERE s.id = ANY (v_seats);

	IF p_hold IS NOT NULL THEN
		UPDATE holds SET released_at = now() WHERE id = p_hold;
	END IF;

	RETURN QUERY SELECT 'created'::text, NULL::bigint[], r.*
	FROM booking_rows(ARRAY[v_id]) r;
END
$$;
ALTER FUNCTION booking_claim(bigint, bigint, bigint[], bigint, text, text,
    integer, interval)
    SET enable_seqscan = off SET enable_hashjoin = off
    SET enable_mergejoin = off;

-- 007's seat_claim_count.
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
