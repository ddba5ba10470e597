-- The sell-out: best available without a show-wide queue, and re-holds
-- that never start a new clock (docs/sellout.md).
--
-- seat_busy is a snapshot of the availability rule of 005, one row per
-- seat: busy_until is when the seat's live hold or booking lapses
-- ('infinity' for a booking that is not awaiting payment, '-infinity' for
-- none), so "free now" is busy_until <= now() and a hold lapsing needs no
-- write. Triggers on hold_seats, holds, booking_seats and seats keep it in
-- step inside the transaction that changes a seat:
--
-- - a new hold or live booking of a seat raises busy_until (greatest(),
--   so two writers in either order leave the later deadline);
-- - a release, a renewal or a booking leaving or entering 'live' sets it
--   to seat_busy_recompute(), which reads the rule afresh (VOLATILE: its
--   query takes a new snapshot, also when the UPDATE re-reads a row a
--   concurrent transaction changed).
--
-- The snapshot only ever chooses candidates: a claim still locks the seat
-- rows and checks the rule itself (005, "Why claiming is correct"), and
-- booking_seats_live stays the backstop. If the snapshot called a taken
-- seat free the claim would find it taken and try the next block; a free
-- seat marked busy would break the best-available order, which is why
-- every path that frees a seat goes through a trigger here.

CREATE FUNCTION seat_busy_recompute(p_seat bigint) RETURNS timestamptz
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_until timestamptz;
BEGIN
	SELECT greatest('-infinity'::timestamptz,
	    (SELECT max(CASE WHEN bk.status = 'pending_payment'
		THEN bk.payment_due_at ELSE 'infinity' END)
	    FROM booking_seats bs JOIN bookings bk ON bk.id = bs.booking_id
	    WHERE bs.seat_id = p_seat AND bs.live),
	    (SELECT max(ho.expires_at) FROM hold_seats hs
	    JOIN holds ho ON ho.id = hs.hold_id
	    WHERE hs.seat_id = p_seat AND ho.released_at IS NULL))
	INTO v_until;
	RETURN v_until;
END
$$;

CREATE TABLE seat_busy (
	seat_id		bigint PRIMARY KEY REFERENCES seats (id)
			    ON DELETE CASCADE,
	show_id		bigint NOT NULL,
	row_label	text NOT NULL,
	number		integer NOT NULL,
	tier		text NOT NULL,
	busy_until	timestamptz NOT NULL DEFAULT '-infinity'
);
-- The free seats of one row of a show, in one index range.
CREATE INDEX seat_busy_row ON seat_busy (show_id, row_label, busy_until);

INSERT INTO seat_busy (seat_id, show_id, row_label, number, tier,
    busy_until)
SELECT s.id, s.show_id, s.row_label, s.number, s.tier,
    seat_busy_recompute(s.id)
FROM seats s;

CREATE FUNCTION seat_busy_seats_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO seat_busy (seat_id, show_id, row_label, number, tier)
	SELECT n.id, n.show_id, n.row_label, n.number, n.tier FROM n;
	RETURN NULL;
END
$$;

CREATE TRIGGER seats_busy_insert AFTER INSERT ON seats
REFERENCING NEW TABLE AS n
FOR EACH STATEMENT EXECUTE FUNCTION seat_busy_seats_insert();

CREATE FUNCTION seat_busy_hold_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE seat_busy sb SET busy_until = greatest(sb.busy_until,
	    h.expires_at)
	FROM n JOIN holds h ON h.id = n.hold_id
	WHERE sb.seat_id = n.seat_id AND h.released_at IS NULL;
	RETURN NULL;
END
$$;

CREATE TRIGGER hold_seats_busy_insert AFTER INSERT ON hold_seats
REFERENCING NEW TABLE AS n
FOR EACH STATEMENT EXECUTE FUNCTION seat_busy_hold_insert();

CREATE FUNCTION seat_busy_hold_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE seat_busy sb SET busy_until = seat_busy_recompute(sb.seat_id)
	FROM (SELECT DISTINCT hs.seat_id FROM n
	    JOIN o ON o.id = n.id
	    JOIN hold_seats hs ON hs.hold_id = n.id
	    WHERE n.released_at IS DISTINCT FROM o.released_at
	    OR n.expires_at <> o.expires_at) c
	WHERE sb.seat_id = c.seat_id;
	RETURN NULL;
END
$$;

CREATE TRIGGER holds_busy_update AFTER UPDATE ON holds
REFERENCING OLD TABLE AS o NEW TABLE AS n
FOR EACH STATEMENT EXECUTE FUNCTION seat_busy_hold_update();

CREATE FUNCTION seat_busy_booking_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE seat_busy sb SET busy_until = greatest(sb.busy_until,
	    CASE WHEN b.status = 'pending_payment' THEN b.payment_due_at
	    ELSE 'infinity' END)
	FROM n JOIN bookings b ON b.id = n.booking_id
	WHERE sb.seat_id = n.seat_id AND n.live;
	RETURN NULL;
END
$$;

CREATE TRIGGER booking_seats_busy_insert AFTER INSERT ON booking_seats
REFERENCING NEW TABLE AS n
FOR EACH STATEMENT EXECUTE FUNCTION seat_busy_booking_insert();

CREATE FUNCTION seat_busy_booking_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE seat_busy sb SET busy_until = seat_busy_recompute(sb.seat_id)
	FROM (SELECT DISTINCT n.seat_id FROM n) c
	WHERE sb.seat_id = c.seat_id;
	RETURN NULL;
END
$$;

CREATE TRIGGER booking_seats_busy_update AFTER UPDATE ON booking_seats
REFERENCING NEW TABLE AS n
FOR EACH STATEMENT EXECUTE FUNCTION seat_busy_booking_update();

CREATE FUNCTION seat_busy_due_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE seat_busy sb SET busy_until = seat_busy_recompute(sb.seat_id)
	FROM (SELECT DISTINCT bs.seat_id FROM n
	    JOIN o ON o.id = n.id
	    JOIN booking_seats bs ON bs.booking_id = n.id
	    WHERE n.payment_due_at IS DISTINCT FROM o.payment_due_at
	    AND bs.live) c
	WHERE sb.seat_id = c.seat_id;
	RETURN NULL;
END
$$;

CREATE TRIGGER bookings_busy_update AFTER UPDATE ON bookings
REFERENCING OLD TABLE AS o NEW TABLE AS n
FOR EACH STATEMENT EXECUTE FUNCTION seat_busy_due_update();

-- The foreign key of booking_seats to seats had only the partial index on
-- live rows: deleting a show scanned booking_seats once per seat.
CREATE INDEX booking_seats_seat ON booking_seats (seat_id);

/*
 * Of p_seats, those p_user holds right now (a live hold of theirs). Such
 * a seat is never held a second time: a second hold would start a new
 * clock and so step round the renewal cap of hold_extend.
 */
CREATE FUNCTION seat_held_by(p_user bigint, p_seats bigint[])
RETURNS TABLE (seat_id bigint, hold_id bigint)
LANGUAGE sql STABLE AS $$
	SELECT hs.seat_id, ho.id
	FROM unnest(p_seats) AS r(id)
	JOIN hold_seats hs ON hs.seat_id = r.id
	JOIN holds ho ON ho.id = hs.hold_id
	WHERE ho.user_id = p_user AND ho.released_at IS NULL
	AND ho.expires_at > now()
$$;

/*
 * POST /api/holds by seat ids, as in 005, plus the re-hold rule: asking
 * again for seats one already holds never starts a new clock. Exactly the
 * seats of one live hold of the caller answers that hold as it is
 * (outcome 'existing': same id, same expires_at, the cap still counted
 * from when it was made); any other overlap with the caller's live holds
 * is 'seat_unavailable' with those seats. Both are decided under the
 * locks of seat_claim_check, so two identical requests at once get one
 * hold and its 'existing' answer.
 */
CREATE OR REPLACE FUNCTION hold_claim(p_user bigint, p_show bigint,
    p_seats bigint[], p_ttl_seconds integer, p_limit integer)
RETURNS TABLE (outcome text, blocked bigint[], hold_id bigint,
    show_id bigint, expires_at text, seat_id bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
	v_check record;
	v_own bigint[];
	v_holds bigint[];
	v_id bigint;
	v_until timestamptz;
BEGIN
	v_check := seat_claim_check(p_user, p_show, p_seats, p_limit);
	IF v_check.outcome IS NOT NULL THEN
		outcome := v_check.outcome;
		blocked := v_check.blocked;
		RETURN NEXT;
		RETURN;
	END IF;

	SELECT array_agg(DISTINCT o.seat_id ORDER BY o.seat_id),
	    array_agg(DISTINCT o.hold_id)
	INTO v_own, v_holds FROM seat_held_by(p_user, p_seats) o;
	IF v_own IS NOT NULL THEN
		IF cardinality(v_holds) = 1 AND (SELECT array_agg(hs.seat_id
		    ORDER BY hs.seat_id) FROM hold_seats hs
		    WHERE hs.hold_id = v_holds[1]) = (SELECT array_agg(r.id
		    ORDER BY r.id) FROM unnest(p_seats) r(id)) THEN
			RETURN QUERY SELECT 'existing'::text, NULL::bigint[],
			    h.id, h.show_id, booking_rfc3339(h.expires_at),
			    hs.seat_id
			FROM holds h JOIN hold_seats hs ON hs.hold_id = h.id
			WHERE h.id = v_holds[1] ORDER BY hs.seat_id;
			RETURN;
		END IF;
		outcome := 'seat_unavailable';
		blocked := v_own;
		RETURN NEXT;
		RETURN;
	END IF;

	v_until := now() + make_interval(secs => p_ttl_seconds);
	INSERT INTO holds (user_id, show_id, expires_at)
	VALUES (p_user, p_show, v_until)
	RETURNING id INTO v_id;
	INSERT INTO hold_seats (hold_id, seat_id)
	SELECT v_id, unnest(p_seats);

	RETURN QUERY SELECT 'created'::text, NULL::bigint[], v_id, p_show,
	    booking_rfc3339(v_until), r.id
	FROM unnest(p_seats) r(id) ORDER BY r.id;
END
$$;

/*
 * Whether p_show has at least p_min seats the snapshot calls free: one
 * index scan with one descent per row of the screen, stopping at p_min.
 * A sold-out show is answered by this alone, before any lock.
 */
CREATE FUNCTION seat_free_at_least(p_show bigint, p_min integer)
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

/*
 * The best blocks of p_count side-by-side seats of p_show (of tier p_tier
 * when not NULL) that the snapshot seat_busy calls free now, leaving out
 * p_exclude: at most p_max of them, best first (blocks of one row may
 * overlap). The rule is 010's seat_best_block: blocks stranding no single
 * seat first, then the row nearest the middle, then the block nearest
 * the row's centre. It is followed without reading the whole show: rows
 * are visited nearest the middle first, each by one index range of its
 * free seats, and the search ends once p_max blocks that strand nothing
 * are found, since no later row can beat them; blocks that strand a seat
 * are kept aside and given after every clean block, in row order. A show
 * with fewer than p_count free seats is answered by one index scan, and a
 * row with fewer than p_count free seats costs one probe. Plain index
 * scans (not bitmap scans) mark the index entries of dead snapshot rows
 * as dead as they pass, so a busy show's index stays cheap between
 * vacuums.
 */
CREATE FUNCTION seat_best_free(p_show bigint, p_count integer, p_tier text,
    p_exclude bigint[], p_max integer) RETURNS SETOF bigint[]
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan
SET enable_bitmapscan = off SET enable_seqscan = off AS $$
DECLARE
	v_screen bigint;
	v_labels text[];
	v_middle numeric;
	v_orphans bigint[] := '{}';
	v_given integer := 0;
	r record;
	v_blk record;
BEGIN
	SELECT sh.screen_id INTO v_screen FROM shows sh WHERE sh.id = p_show;
	SELECT array_agg(sr.label), max(sr.position) / 2.0
	INTO v_labels, v_middle
	FROM screen_rows sr WHERE sr.screen_id = v_screen;

	IF NOT seat_free_at_least(p_show, p_count) THEN
		RETURN;
	END IF;

	FOR r IN SELECT sr.label, sr.seats AS width, sr.aisles_after
	    FROM screen_rows sr WHERE sr.screen_id = v_screen
	    ORDER BY abs(sr.position - v_middle), sr.position DESC LOOP
		CONTINUE WHEN (SELECT count(*) FROM (SELECT 1 FROM seat_busy b
		    WHERE b.show_id = p_show AND b.row_label = r.label
		    AND b.busy_until <= now() LIMIT p_count) c) < p_count;
		FOR v_blk IN WITH f AS (
			SELECT b.seat_id AS id, b.number,
			    (SELECT count(*) FROM unnest(r.aisles_after) a
			    WHERE a < b.number) AS section
			FROM seat_busy b
			WHERE b.show_id = p_show AND b.row_label = r.label
			AND b.busy_until <= now()
			AND (p_tier IS NULL OR b.tier = p_tier)
			AND b.seat_id <> ALL (p_exclude)
		), runs AS (
			SELECT min(g.number) AS first, max(g.number) AS last,
			    array_agg(g.id ORDER BY g.number) AS ids
			FROM (SELECT f.*, f.number - row_number() OVER (
			    PARTITION BY f.section ORDER BY f.number)
			    AS island FROM f) g
			GROUP BY g.section, g.island
			HAVING count(*) >= p_count
		)
		SELECT runs.ids[b - runs.first + 1 : b - runs.first + p_count]
		    AS ids,
		    (b - runs.first = 1 OR runs.last - (b + p_count - 1) = 1)
		    AS orphan
		FROM runs
		CROSS JOIN LATERAL generate_series(runs.first,
		    runs.last - p_count + 1) AS b
		ORDER BY 2, abs(b + (p_count - 1) / 2.0 - (r.width + 1) / 2.0),
		    b
		LIMIT p_max LOOP
			IF v_blk.orphan THEN
				IF cardinality(v_orphans) < p_max * p_count THEN
					v_orphans := v_orphans || v_blk.ids;
				END IF;
				CONTINUE;
			END IF;
			RETURN NEXT v_blk.ids;
			v_given := v_given + 1;
			IF v_given >= p_max THEN
				RETURN;
			END IF;
		END LOOP;
	END LOOP;

	FOR i IN 0 .. cardinality(v_orphans) / p_count - 1 LOOP
		EXIT WHEN v_given >= p_max;
		RETURN NEXT v_orphans[i * p_count + 1 : (i + 1) * p_count];
		v_given := v_given + 1;
	END LOOP;
END
$$;

/*
 * POST /api/holds {show_id, count, tier}: as 010's, without the
 * show-wide lock. Why parties asking at once get disjoint blocks:
 *
 * 1. Candidate blocks, best first, come from the snapshot
 *    (seat_best_free) with no lock.
 * 2. A block's seat rows are locked FOR UPDATE in id order, SKIP LOCKED:
 *    a seat another claim is taking right now is not waited for but left
 *    out, and the next candidate is tried (so a crowd asking at once
 *    spreads over the next best blocks instead of queueing for one). A
 *    block given up is rolled back to before its locks (a
 *    subtransaction), so no other claim skips its seats because of it.
 * 3. With every seat of the block locked, the next statement checks the
 *    rule on a fresh snapshot (seat_blockers, and seat_held_by: the
 *    caller's own holds are not held twice), exactly as 005's claim does;
 *    a seat found taken is left out for good. When the candidates run
 *    out, the search runs again on a fresh snapshot.
 * 4. The hold is written under those locks; booking_seats_live and the
 *    claim's own locks are the backstop as for every claim.
 *
 * Only when every block left is being claimed by others does a claim
 * wait: it then locks the best of them waiting (FOR UPDATE in id order,
 * holding nothing but its own 'claim:' key, the order every claim takes,
 * so no cycle), and checks as in 3. A sold-out show is never waited on:
 * 'no_adjacent_seats' comes from the snapshot alone. One advisory lock,
 * the caller's 'claim:' key, keeps the seat limit exact.
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
	v_locked bigint[];
	v_taken bigint[];
	v_gone bigint[] := '{}';
	v_busy bigint[] := '{}';
	v_wait boolean;
	v_cands bigint[];
	v_id bigint;
	v_until timestamptz;
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

	IF NOT seat_free_at_least(p_show, p_count) THEN
		outcome := 'no_adjacent_seats';
		RETURN NEXT;
		RETURN;
	END IF;

	PERFORM pg_advisory_xact_lock(hashtextextended(
	    'claim:' || p_user || ':' || p_show, 0));
	IF seat_claim_count(p_user, p_show, '{}') + p_count > p_limit THEN
		outcome := 'seat_limit';
		RETURN NEXT;
		RETURN;
	END IF;

	FOR i IN 1 .. 16 LOOP
		v_wait := false;
		v_cands := ARRAY(SELECT c FROM seat_best_free(p_show, p_count,
		    p_tier, v_gone || v_busy, 64) c);
		IF cardinality(v_cands) = 0 THEN
			IF cardinality(v_busy) = 0 THEN
				outcome := 'no_adjacent_seats';
				RETURN NEXT;
				RETURN;
			END IF;
			v_busy := '{}';
			v_wait := true;
			v_cands := ARRAY(SELECT c FROM seat_best_free(p_show,
			    p_count, p_tier, v_gone, 1) c);
		END IF;

		FOR k IN 1 .. coalesce(array_length(v_cands, 1), 0) LOOP
			v_seats := ARRAY(SELECT unnest(v_cands[k:k]));
			CONTINUE WHEN v_seats && (v_gone || v_busy);
			/*
			 * Locks and checks in a subtransaction: a block that
			 * cannot be had is rolled back with its row locks.
			 */
			BEGIN
				IF v_wait THEN
					SELECT array_agg(l.id ORDER BY l.id)
					INTO v_locked FROM (SELECT x.id
					    FROM seats x
					    WHERE x.id = ANY (v_seats)
					    ORDER BY x.id FOR UPDATE) l;
				ELSE
					SELECT coalesce(array_agg(l.id
					    ORDER BY l.id), '{}')
					INTO v_locked FROM (SELECT x.id
					    FROM seats x
					    WHERE x.id = ANY (v_seats)
					    ORDER BY x.id
					    FOR UPDATE SKIP LOCKED) l;
				END IF;
				IF cardinality(v_locked) < p_count THEN
					v_busy := v_busy || ARRAY(SELECT u.id
					    FROM unnest(v_seats) u(id)
					    WHERE u.id <> ALL (v_locked));
					RAISE EXCEPTION USING ERRCODE = 'SB001';
				END IF;
				v_taken := seat_blockers(p_user, v_locked) ||
				    ARRAY(SELECT o.seat_id FROM
				    seat_held_by(p_user, v_locked) o);
				IF cardinality(v_taken) > 0 THEN
					v_gone := v_gone || v_taken;
					RAISE EXCEPTION USING ERRCODE = 'SB001';
				END IF;

				v_until := now() +
				    make_interval(secs => p_ttl_seconds);
				INSERT INTO holds (user_id, show_id, expires_at)
				VALUES (p_user, p_show, v_until)
				RETURNING id INTO v_id;
				INSERT INTO hold_seats (hold_id, seat_id)
				SELECT v_id, unnest(v_locked);
			EXCEPTION WHEN SQLSTATE 'SB001' THEN
				CONTINUE;
			END;

			RETURN QUERY SELECT 'created'::text, NULL::bigint[],
			    v_id, p_show, booking_rfc3339(v_until), u.id
			FROM unnest(v_locked) u(id) ORDER BY u.id;
			RETURN;
		END LOOP;
	END LOOP;

	RAISE EXCEPTION 'best block not claimed in 16 searches'
	    USING ERRCODE = 'serialization_failure';
END
$$;

/*
 * Plans that cannot go bad. Every statement of the booking path is an
 * index lookup by id or by a selective index; left to the planner, the
 * statistics of a fresh deployment (taken while the tables were nearly
 * empty) made booking_rows a merge join over all of seats_pkey and the
 * expiry UPDATE of booking_claim a scan of booking_seats. These entry
 * points (and everything they call, which inherits the settings) plan
 * with sequential scans, hash joins and merge joins priced out, so the
 * plan is the nested loop of index lookups whatever the statistics say.
 * booking_rows gets no setting of its own: a SQL function with one is
 * no longer inlined and is planned again on every call (3 ms); inlined
 * into these functions' statements it is planned under their settings.
 *
 * The availability rule's view, as 005 wrote it, with each lookup fenced
 * (OFFSET 0) so it can only be done by key: a hold of a seat is found
 * through hold_seats_seat and then holds_pkey, never by walking every
 * live hold in expiry order (what empty statistics chose for the ORDER
 * BY ... LIMIT 1), and a booking through booking_seats_live then
 * bookings_pkey.
 */
CREATE OR REPLACE VIEW seat_states (seat_id, status, holder_id) AS
SELECT s.id,
    CASE WHEN b.seat_id IS NOT NULL THEN 'booked'
	WHEN h.user_id IS NOT NULL THEN 'held'
	ELSE 'available' END::text,
    CASE WHEN b.seat_id IS NULL THEN h.user_id END::bigint
FROM seats s
LEFT JOIN LATERAL (
	SELECT bs.seat_id FROM booking_seats bs
	CROSS JOIN LATERAL (SELECT bk.status, bk.payment_due_at
	    FROM bookings bk WHERE bk.id = bs.booking_id OFFSET 0) bk
	WHERE bs.seat_id = s.id AND bs.live
	AND NOT (bk.status = 'pending_payment' AND bk.payment_due_at <= now())
	LIMIT 1) b ON true
LEFT JOIN LATERAL (
	SELECT ho.user_id FROM hold_seats hs
	CROSS JOIN LATERAL (SELECT h.user_id, h.expires_at, h.released_at
	    FROM holds h WHERE h.id = hs.hold_id OFFSET 0) ho
	WHERE hs.seat_id = s.id AND ho.released_at IS NULL
	AND ho.expires_at > now()
	ORDER BY ho.expires_at DESC
	LIMIT 1) h ON true;

ALTER FUNCTION booking_claim(bigint, bigint, bigint[], bigint, text, text,
    integer, interval)
    SET enable_seqscan = off SET enable_hashjoin = off
    SET enable_mergejoin = off;
ALTER FUNCTION booking_cancel(bigint, bigint)
    SET enable_seqscan = off SET enable_hashjoin = off
    SET enable_mergejoin = off;
ALTER FUNCTION hold_extend(bigint, bigint)
    SET enable_seqscan = off SET enable_hashjoin = off
    SET enable_mergejoin = off;
ALTER FUNCTION hold_claim(bigint, bigint, bigint[], integer, integer)
    SET enable_seqscan = off SET enable_hashjoin = off
    SET enable_mergejoin = off;
ALTER FUNCTION hold_claim_best(bigint, bigint, integer, text, integer,
    integer)
    SET enable_seqscan = off SET enable_hashjoin = off
    SET enable_mergejoin = off;
