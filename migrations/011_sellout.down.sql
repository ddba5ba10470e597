-- Back to 010: the show-wide best-available lock and 005's hold_claim.
ALTER FUNCTION booking_claim(bigint, bigint, bigint[], bigint, text, text,
    integer, interval)
    RESET enable_seqscan RESET enable_hashjoin RESET enable_mergejoin;
ALTER FUNCTION booking_cancel(bigint, bigint)
    RESET enable_seqscan RESET enable_hashjoin RESET enable_mergejoin;
ALTER FUNCTION hold_extend(bigint, bigint)
    RESET enable_seqscan RESET enable_hashjoin RESET enable_mergejoin;
DROP FUNCTION IF EXISTS seat_free_at_least(bigint, integer);
-- 005's view.
CREATE OR REPLACE VIEW seat_states (seat_id, status, holder_id) AS
SELECT s.id,
    CASE WHEN b.seat_id IS NOT NULL THEN 'booked'
	WHEN h.user_id IS NOT NULL THEN 'held'
	ELSE 'available' END::text,
    CASE WHEN b.seat_id IS NULL THEN h.user_id END::bigint
FROM seats s
LEFT JOIN LATERAL (
	SELECT bs.seat_id FROM booking_seats bs
	JOIN bookings bk ON bk.id = bs.booking_id
	WHERE bs.seat_id = s.id AND bs.live
	AND NOT (bk.status = 'pending_payment' AND bk.payment_due_at <= now())
	LIMIT 1) b ON true
LEFT JOIN LATERAL (
	SELECT ho.user_id FROM hold_seats hs
	JOIN holds ho ON ho.id = hs.hold_id
	WHERE hs.seat_id = s.id AND ho.released_at IS NULL
	AND ho.expires_at > now()
	ORDER BY ho.expires_at DESC
	LIMIT 1) h ON true;
DROP FUNCTION IF EXISTS seat_best_free(bigint, integer, text, bigint[],
    integer);
DROP FUNCTION IF EXISTS seat_held_by(bigint, bigint[]);
DROP INDEX IF EXISTS booking_seats_seat;
DROP TRIGGER IF EXISTS bookings_busy_update ON bookings;
DROP TRIGGER IF EXISTS booking_seats_busy_update ON booking_seats;
DROP TRIGGER IF EXISTS booking_seats_busy_insert ON booking_seats;
DROP TRIGGER IF EXISTS holds_busy_update ON holds;
DROP TRIGGER IF EXISTS hold_seats_busy_insert ON hold_seats;
DROP TRIGGER IF EXISTS seats_busy_insert ON seats;
DROP FUNCTION IF EXISTS seat_busy_due_update();
DROP FUNCTION IF EXISTS seat_busy_booking_update();
DROP FUNCTION IF EXISTS seat_busy_booking_insert();
DROP FUNCTION IF EXISTS seat_busy_hold_update();
DROP FUNCTION IF EXISTS seat_busy_hold_insert();
DROP FUNCTION IF EXISTS seat_busy_seats_insert();
DROP TABLE IF EXISTS seat_busy;
DROP FUNCTION IF EXISTS seat_busy_recompute(bigint);

-- POST /api/holds: one row per seat of the new hold, or one row with an
-- outcome other than 'created' (and the offending seat ids).
CREATE OR REPLACE FUNCTION hold_claim(p_user bigint, p_show bigint,
    p_seats bigint[],
    p_ttl_seconds integer, p_limit integer)
RETURNS TABLE (outcome text, blocked bigint[], hold_id bigint,
    show_id bigint, expires_at text, seat_id bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
	v_check record;
	v_id bigint;
BEGIN
	v_check := seat_claim_check(p_user, p_show, p_seats, p_limit);
	IF v_check.outcome IS NOT NULL THEN
		outcome := v_check.outcome;
		blocked := v_check.blocked;
		RETURN NEXT;
		RETURN;
	END IF;

	INSERT INTO holds (user_id, show_id, expires_at)
	VALUES (p_user, p_show, now() + make_interval(secs => p_ttl_seconds))
	RETURNING id INTO v_id;
	INSERT INTO hold_seats (hold_id, seat_id)
	SELECT v_id, unnest(p_seats);

	RETURN QUERY SELECT 'created'::text, NULL::bigint[], h.id, h.show_id,
	    booking_rfc3339(h.expires_at), hs.seat_id
	FROM holds h JOIN hold_seats hs ON hs.hold_id = h.id
	WHERE h.id = v_id ORDER BY hs.seat_id;
END
$$;

/*
 * POST /api/holds {show_id, count, tier}: as hold_claim, one row per seat
 * of the new hold or one row with an outcome: 'show_not_found',
 * 'tier_not_in_show', 'show_started', 'seat_limit' or
 * 'no_adjacent_seats'.
 *
 * Why two parties asking at once get disjoint blocks: picks on one show
 * are serialised by a transaction-scoped advisory lock ('best:' show),
 * and the next statement (seat_best_block) takes a new snapshot, so it
 * sees every block picked before. The block is then claimed exactly as
 * hold_claim claims seats (seat_claim_check: the user lock, the seat rows
 * FOR UPDATE in id order, seat_blockers). An explicit claim by seat ids
 * does not take the 'best' lock; if one took part of the block between
 * the pick and the seat locks, seat_claim_check reports it and the
 * function raises a serialization failure (40001), which the server
 * retries like any other, with a fresh pick.
 */
CREATE OR REPLACE FUNCTION hold_claim_best(p_user bigint, p_show bigint,
    p_count integer, p_tier text, p_ttl_seconds integer, p_limit integer)
RETURNS TABLE (outcome text, blocked bigint[], hold_id bigint,
    show_id bigint, expires_at text, seat_id bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
	v_start timestamptz;
	v_seats bigint[];
	v_check record;
	v_id bigint;
BEGIN
	SELECT sh.start_time INTO v_start FROM shows sh WHERE sh.id = p_show;
	IF NOT FOUND THEN
		outcome := 'show_not_found';
		RETURN NEXT;
		RETURN;
	END IF;
	IF p_tier IS NOT NULL AND NOT EXISTS (SELECT 1 FROM seats x
	    WHERE x.show_id = p_show AND x.tier = p_tier) THEN
		outcome := 'tier_not_in_show';
		RETURN NEXT;
		RETURN;
	END IF;
	IF v_start <= now() THEN
		outcome := 'show_started';
		RETURN NEXT;
		RETURN;
	END IF;

	PERFORM pg_advisory_xact_lock(hashtextextended('best:' || p_show, 0));
	PERFORM pg_advisory_xact_lock(hashtextextended(
	    'claim:' || p_user || ':' || p_show, 0));
	IF seat_claim_count(p_user, p_show, '{}') + p_count > p_limit THEN
		outcome := 'seat_limit';
		RETURN NEXT;
		RETURN;
	END IF;

	v_seats := seat_best_block(p_show, p_count, p_tier);
	IF v_seats IS NULL THEN
		outcome := 'no_adjacent_seats';
		RETURN NEXT;
		RETURN;
	END IF;

	v_check := seat_claim_check(p_user, p_show, v_seats, p_limit);
	IF v_check.outcome = 'seat_unavailable' THEN
		RAISE EXCEPTION 'best block taken by a concurrent claim'
		    USING ERRCODE = 'serialization_failure';
	ELSIF v_check.outcome IS NOT NULL THEN
		outcome := v_check.outcome;
		blocked := v_check.blocked;
		RETURN NEXT;
		RETURN;
	END IF;

	INSERT INTO holds (user_id, show_id, expires_at)
	VALUES (p_user, p_show, now() + make_interval(secs => p_ttl_seconds))
	RETURNING id INTO v_id;
	INSERT INTO hold_seats (hold_id, seat_id)
	SELECT v_id, unnest(v_seats);

	RETURN QUERY SELECT 'created'::text, NULL::bigint[], h.id, h.show_id,
	    booking_rfc3339(h.expires_at), hs.seat_id
	FROM holds h JOIN hold_seats hs ON hs.hold_id = h.id
	WHERE h.id = v_id ORDER BY hs.seat_id;
END
$$;
