-- Seat selection: capped hold renewal, best available adjacent seats (with
-- aisles in the screen model), and the seat states the live seat map
-- streams. Claims still go through the locks of 005_booking
-- (seat_claim_lock, seat_claim_check); nothing there is redefined.

-- A hold's lifetime is fixed when it is made (the TTL then in force), so
-- a renewal cap of 3 lifetimes does not move when the setting does.
ALTER TABLE holds ADD COLUMN lifetime interval;
UPDATE holds SET lifetime = expires_at - created_at WHERE lifetime IS NULL;

CREATE FUNCTION holds_set_lifetime() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.lifetime := coalesce(NEW.lifetime, NEW.expires_at - NEW.created_at);
	RETURN NEW;
END
$$;

CREATE TRIGGER holds_lifetime BEFORE INSERT ON holds
FOR EACH ROW EXECUTE FUNCTION holds_set_lifetime();

ALTER TABLE holds ALTER COLUMN lifetime SET NOT NULL;

-- The live seat map looks for the next hold of a show to lapse through
-- holds_show_live (009_seat_freshness).

-- Seats n and n + 1 of a row are side by side unless n is listed here.
ALTER TABLE screen_rows ADD COLUMN aisles_after integer[] NOT NULL
    DEFAULT '{}' CHECK (cardinality(aisles_after) <= 200);

/*
 * POST /api/holds/{id}/extend: the hold's rows with outcome 'created' and
 * the new expires_at, or one row with 'hold_not_found' (unknown, or
 * another user's), 'hold_expired' (lapsed, released or booked),
 * 'show_started' or 'hold_renewal_limit'.
 *
 * A renewal sets expires_at to now() + lifetime, clamped to created_at +
 * 3 lifetimes; when the clamp leaves nothing to gain the renewal limit is
 * reached. The seats are locked as a claim locks them (seat_claim_lock),
 * so a claim on them either sees the renewed hold or committed first, in
 * which case seat_blockers finds it and the hold counts as lapsed.
 */
CREATE FUNCTION hold_extend(p_hold bigint, p_user bigint)
RETURNS TABLE (outcome text, blocked bigint[], hold_id bigint,
    show_id bigint, expires_at text, seat_id bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
	v_show bigint;
	v_seats bigint[];
	v_h record;
	v_until timestamptz;
BEGIN
	SELECT h.show_id, array_agg(hs.seat_id ORDER BY hs.seat_id)
	INTO v_show, v_seats
	FROM holds h JOIN hold_seats hs ON hs.hold_id = h.id
	WHERE h.id = p_hold AND h.user_id = p_user
	GROUP BY h.id;
	IF NOT FOUND THEN
		outcome := 'hold_not_found';
		RETURN NEXT;
		RETURN;
	END IF;

	PERFORM seat_claim_lock(p_user, v_show, v_seats);
	SELECT h.created_at, h.expires_at, h.released_at, h.lifetime,
	    sh.start_time INTO v_h
	FROM holds h JOIN shows sh ON sh.id = h.show_id
	WHERE h.id = p_hold FOR UPDATE OF h;

	IF v_h.released_at IS NOT NULL OR v_h.expires_at <= now() OR
	    cardinality(seat_blockers(p_user, v_seats)) > 0 THEN
		outcome := 'hold_expired';
		RETURN NEXT;
		RETURN;
	END IF;
	IF v_h.start_time <= now() THEN
		outcome := 'show_started';
		RETURN NEXT;
		RETURN;
	END IF;

	v_until := least(now() + v_h.lifetime,
	    v_h.created_at + 3 * v_h.lifetime);
	IF v_until <= v_h.expires_at THEN
		outcome := 'hold_renewal_limit';
		RETURN NEXT;
		RETURN;
	END IF;

	UPDATE holds SET expires_at = v_until WHERE id = p_hold;

	RETURN QUERY SELECT 'created'::text, NULL::bigint[], h.id, h.show_id,
	    booking_rfc3339(h.expires_at), hs.seat_id
	FROM holds h JOIN hold_seats hs ON hs.hold_id = h.id
	WHERE h.id = p_hold ORDER BY hs.seat_id;
END
$$;

/*
 * The best block of p_count side-by-side seats of p_show that are free
 * now (of tier p_tier when not NULL), or NULL. The rule, written once:
 *
 * - Seats n and n + 1 of a row are side by side unless the screen row has
 *   an aisle after n. A "run" is a maximal stretch of free seats side by
 *   side; it ends at a taken seat, an aisle or the row's end.
 * - A block leaves an orphan when it leaves exactly one free seat at
 *   either end of its run. Blocks without an orphan come first, whenever
 *   there is one.
 * - Then the row nearest the screen's middle row (by position among all
 *   of the screen's rows; of two rows equally near, the one further back),
 *   then the block whose centre is nearest the row's centre (of two, the
 *   lower seat numbers).
 *
 * Reads only: the caller locks and checks the block (hold_claim_best).
 */
CREATE FUNCTION seat_best_block(p_show bigint, p_count integer,
    p_tier text) RETURNS bigint[]
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
DECLARE
	v_block bigint[];
BEGIN
	WITH r AS (
		SELECT sr.label, sr.position, sr.seats AS width,
		    sr.aisles_after,
		    max(sr.position) OVER () / 2.0 AS middle
		FROM shows sh JOIN screen_rows sr ON sr.screen_id = sh.screen_id
		WHERE sh.id = p_show
	), free AS (
		SELECT x.id, x.number, r.label, r.position, r.width, r.middle,
		    (SELECT count(*) FROM unnest(r.aisles_after) a
		    WHERE a < x.number) AS section
		FROM seats x
		JOIN r ON r.label = x.row_label
		JOIN seat_states st ON st.seat_id = x.id
		WHERE x.show_id = p_show AND st.status = 'available'
		AND (p_tier IS NULL OR x.tier = p_tier)
	), runs AS (
		SELECT f.label, f.position, f.width, f.middle,
		    min(f.number) AS first, max(f.number) AS last,
		    array_agg(f.id ORDER BY f.number) AS ids
		FROM (SELECT free.*, free.number - row_number() OVER (
		    PARTITION BY free.label, free.section
		    ORDER BY free.number) AS island FROM free) f
		GROUP BY f.label, f.position, f.width, f.middle, f.section,
		    f.island
		HAVING count(*) >= p_count
	)
	SELECT runs.ids[b - runs.first + 1 : b - runs.first + p_count]
	INTO v_block
	FROM runs
	CROSS JOIN LATERAL generate_series(runs.first,
	    runs.last - p_count + 1) AS b
	ORDER BY (b - runs.first = 1 OR runs.last - (b + p_count - 1) = 1),
	    abs(runs.position - runs.middle), runs.position DESC,
	    abs(b + (p_count - 1) / 2.0 - (runs.width + 1) / 2.0), b
	LIMIT 1;

	RETURN v_block;
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
CREATE FUNCTION hold_claim_best(p_user bigint, p_show bigint,
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

/*
 * The live seat map of a show: every seat and its status (the rule of
 * 005_booking, through seat_states), in id order, each row also carrying
 * the milliseconds until the next hold or unpaid booking of the show
 * lapses (NULL when none will), so a watcher knows when to look again.
 */
CREATE FUNCTION show_live_seats(p_show bigint)
RETURNS TABLE (seat_id bigint, status text, next_change_ms bigint)
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
	v_next timestamptz;
BEGIN
	SELECT min(d.t) INTO v_next FROM (
		SELECT h.expires_at AS t FROM holds h
		WHERE h.show_id = p_show AND h.released_at IS NULL
		AND h.expires_at > now()
		UNION ALL
		SELECT b.payment_due_at FROM bookings b
		WHERE b.show_id = p_show AND b.status = 'pending_payment'
		AND b.payment_due_at > now()) d;

	RETURN QUERY SELECT x.id, st.status,
	    ceil(extract(epoch FROM v_next - now()) * 1000)::bigint
	FROM seats x JOIN seat_states st ON st.seat_id = x.id
	WHERE x.show_id = p_show ORDER BY x.id;
END
$$;
