-- What the service needs to cache seat states (src/seatmap.c) and to keep
-- the holds table small (src/sweep.c). The availability rule itself stays
-- in migrations/005_booking.up.sql; nothing here restates it.

-- The deadlines of a show's seats, read whenever a seat-state body is
-- computed (and by the live seat map, migration 010): unreleased holds by
-- expiry, pending bookings by payment due.
CREATE INDEX holds_show_live ON holds (show_id, expires_at)
	WHERE released_at IS NULL;
CREATE INDEX bookings_show_pending ON bookings (show_id, payment_due_at)
	WHERE status = 'pending_payment';

-- The clean-up finds old holds by expiry and must see whether a booking
-- refers to one (also what the foreign key's check on delete reads).
CREATE INDEX holds_expires ON holds (expires_at);
CREATE INDEX bookings_hold ON bookings (hold_id) WHERE hold_id IS NOT NULL;

/*
 * Milliseconds until the availability rule can change its answer for a
 * seat of p_show with nobody writing: the rule of migration 005 depends
 * on the clock only through an unreleased hold's expires_at and a
 * pending_payment booking's payment_due_at, so the earliest of those
 * still ahead is when a body computed now may first be wrong. p_max when
 * none is sooner. A cached body must not outlive this.
 */
CREATE FUNCTION show_seat_ttl_ms(p_show bigint, p_max integer)
RETURNS integer
LANGUAGE sql STABLE AS $$
	SELECT least(p_max, floor(extract(epoch FROM least(
	    (SELECT min(h.expires_at) FROM holds h
	    WHERE h.show_id = p_show AND h.released_at IS NULL
	    AND h.expires_at > now()),
	    (SELECT min(b.payment_due_at) FROM bookings b
	    WHERE b.show_id = p_show AND b.status = 'pending_payment'
	    AND b.payment_due_at > now())) - now()) * 1000))::integer
$$;

/*
 * Deletes at most p_batch holds whose expiry is more than p_grace in the
 * past (lapsed, or released earlier) and that no booking refers to, with
 * their hold_seats; returns how many. Such holds count for nothing in the
 * rule, so deleting them changes no answer except GET /api/holds/{id} of
 * a long-dead hold (404). Rows locked by anyone are skipped, so the
 * clean-up never waits for a claim.
 */
CREATE FUNCTION hold_sweep(p_batch integer, p_grace interval)
RETURNS integer
LANGUAGE sql AS $$
	WITH doomed AS (
		SELECT h.id FROM holds h
		WHERE h.expires_at < now() - p_grace
		AND NOT EXISTS (SELECT 1 FROM bookings b
		    WHERE b.hold_id = h.id)
		ORDER BY h.expires_at
		LIMIT p_batch
		FOR UPDATE SKIP LOCKED
	), gone AS (
		DELETE FROM holds h USING doomed d WHERE h.id = d.id
		RETURNING 1
	)
	SELECT count(*)::integer FROM gone
$$;

/*
 * Refusals without a write. A claim used to lock the requested seat rows
 * FOR UPDATE before finding them taken; a row lock gives the transaction
 * an id and a commit record, so every 409 waited for a WAL flush like a
 * booking. Now the checks first run on the statement's snapshot with no
 * lock: if a requested seat is already taken there, the claim is refused
 * at once (the seat was taken at that instant, which is a correct answer;
 * nothing was written, so nothing is flushed). Otherwise the claim goes
 * on exactly as before (migration 005, "Why claiming is correct"): locks,
 * then every check again on a fresh snapshot, then the writes. Only the
 * order of outcomes a client can see is kept: show_not_found, then
 * seat_not_in_show and show_started (which the pre-check leaves to the
 * locked path), then seat_unavailable.
 */
CREATE OR REPLACE FUNCTION seat_claim_check(p_user bigint, p_show bigint,
    p_seats bigint[], p_limit integer, OUT outcome text, OUT blocked bigint[])
LANGUAGE plpgsql AS $$
DECLARE
	v_start timestamptz;
BEGIN
	SELECT start_time INTO v_start FROM shows WHERE id = p_show;
	IF NOT FOUND THEN
		outcome := 'show_not_found';
		RETURN;
	END IF;

	IF v_start > now() AND (SELECT count(*) FROM seats s
	    WHERE s.id = ANY (p_seats) AND s.show_id = p_show) =
	    cardinality(p_seats) THEN
		blocked := seat_blockers(p_user, p_seats);
		IF cardinality(blocked) > 0 THEN
			outcome := 'seat_unavailable';
			RETURN;
		END IF;
		blocked := NULL;
	END IF;

	IF seat_claim_lock(p_user, p_show, p_seats) <>
	    cardinality(p_seats) THEN
		outcome := 'seat_not_in_show';
		SELECT array_agg(r.id ORDER BY r.id) INTO blocked
		FROM unnest(p_seats) AS r(id)
		WHERE NOT EXISTS (SELECT 1 FROM seats s
		    WHERE s.id = r.id AND s.show_id = p_show);
		RETURN;
	END IF;

	IF v_start <= now() THEN
		outcome := 'show_started';
		RETURN;
	END IF;

	blocked := seat_blockers(p_user, p_seats);
	IF cardinality(blocked) > 0 THEN
		outcome := 'seat_unavailable';
		RETURN;
	END IF;
	blocked := NULL;

	IF seat_claim_count(p_user, p_show, p_seats) > p_limit THEN
		outcome := 'seat_limit';
	END IF;
END
$$;
