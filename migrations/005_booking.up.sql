-- Booking core: seat holds that lapse by themselves, bookings with their
-- seats, and the functions that claim seats for both.
--
-- Availability rule (the one place it is written down; seat_states and
-- seat_blockers below implement it):
--   a seat is BOOKED when a booking_seats row for it is live and its
--     booking has not lapsed (pending_payment past payment_due_at);
--   else HELD when a hold covers it that is not released and whose
--     expires_at is still in the future;
--   else AVAILABLE.
-- Expiry is part of the rule, so lapsed holds free their seats at once
-- with no sweeper; a clean-up job may delete old rows, nothing more.
--
-- "Live" is a property of the booking's status (booking_status_live):
-- pending_payment and confirmed bookings keep their seats; expired,
-- cancelled and refunded ones do not. A trigger copies it onto
-- booking_seats.live whenever the status changes, and the partial unique
-- index booking_seats_live makes the database itself refuse one seat in
-- two live bookings. Payments only add transitions between these states.

CREATE TABLE holds (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id		bigint NOT NULL REFERENCES users (id),
	show_id		bigint NOT NULL REFERENCES shows (id) ON DELETE CASCADE,
	expires_at	timestamptz NOT NULL,
	released_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CHECK (expires_at > created_at)
);
CREATE INDEX holds_user_show ON holds (user_id, show_id);

CREATE TABLE hold_seats (
	hold_id		bigint NOT NULL REFERENCES holds (id) ON DELETE CASCADE,
	seat_id		bigint NOT NULL REFERENCES seats (id) ON DELETE CASCADE,
	PRIMARY KEY (hold_id, seat_id)
);
CREATE INDEX hold_seats_seat ON hold_seats (seat_id);

CREATE TABLE bookings (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id		bigint NOT NULL REFERENCES users (id),
	show_id		bigint NOT NULL REFERENCES shows (id),
	hold_id		bigint REFERENCES holds (id),
	status		text NOT NULL CHECK (status IN ('pending_payment',
			    'confirmed', 'expired', 'cancelled', 'refunded')),
	total_cents	bigint NOT NULL CHECK (total_cents >= 0),
	currency	char(3) NOT NULL,
	idempotency_key	text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
	-- "<method> <path> <sha256 of body>" of the request that made it.
	request_fingerprint text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	payment_due_at	timestamptz,
	cancelled_at	timestamptz,
	CONSTRAINT bookings_user_idempotency_key
	    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX bookings_user_show ON bookings (user_id, show_id);
CREATE INDEX bookings_show ON bookings (show_id, id);

CREATE TABLE booking_seats (
	booking_id	bigint NOT NULL REFERENCES bookings (id)
			    ON DELETE CASCADE,
	seat_id		bigint NOT NULL REFERENCES seats (id),
	price_cents	integer NOT NULL CHECK (price_cents >= 0),
	live		boolean NOT NULL,
	PRIMARY KEY (booking_id, seat_id)
);
-- No seat in two live bookings, whatever the application does.
CREATE UNIQUE INDEX booking_seats_live ON booking_seats (seat_id) WHERE live;

-- Which statuses keep their seats. Payments add states here, nowhere else.
CREATE FUNCTION booking_status_live(p_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	SELECT p_status IN ('pending_payment', 'confirmed')
$$;

CREATE FUNCTION booking_seats_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.status IS DISTINCT FROM OLD.status THEN
		UPDATE booking_seats SET live = booking_status_live(NEW.status)
		WHERE booking_id = NEW.id;
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER bookings_status_live AFTER UPDATE OF status ON bookings
FOR EACH ROW EXECUTE FUNCTION booking_seats_sync();

CREATE FUNCTION booking_rfc3339(p_t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT to_char(p_t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

-- The seat map's view of the availability rule. holder_id is the holding
-- user of a held seat, NULL otherwise. The catalog's seat map joins this
-- with exactly these columns.
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

-- One row per seat of each booking in p_ids, in the order of p_ids: the
-- shape bookings.c turns into JSON.
CREATE FUNCTION booking_rows(p_ids bigint[])
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

/*
 * Why claiming is correct (holds and bookings both go through
 * seat_claim_lock and seat_blockers, inside one function call, which is
 * one statement and one transaction on one connection):
 *
 * 1. A transaction-scoped advisory lock on (user, show) serialises one
 *    user's claims on one show, so the 10-seat limit cannot be raced past
 *    with two requests for different seats, and two retries of one
 *    Idempotency-Key run one after the other.
 * 2. The requested seat rows are locked FOR UPDATE in id order (LockRows
 *    runs above the Sort). Every claim locks its user key first and then
 *    seats in ascending id order, so no two claims wait on each other in
 *    a cycle: multi-seat requests cannot deadlock.
 * 3. Only after the locks are held does the next statement look at
 *    bookings and holds. In READ COMMITTED every PL/pgSQL statement takes
 *    a new snapshot, so it sees every claim on these seats that committed
 *    while we waited; a claim still in flight holds the seat locks, so it
 *    cannot be missed. Check and insert happen under the same locks, so
 *    "available" cannot change in between.
 * 4. All checks precede all writes: a refused claim changes nothing.
 * 5. booking_seats_live is the last line: if any of this were wrong the
 *    insert fails with 23505 instead of double-booking; the server then
 *    retries and answers 409 seat_unavailable.
 *
 * The entry points (hold_claim, booking_claim, booking_cancel) run with
 * plan_cache_mode = force_generic_plan: their statements are all index
 * lookups by id, and re-planning the seat_states view on every call
 * (PL/pgSQL's custom plans) cost more than the rest of the work.
 */
CREATE FUNCTION seat_claim_lock(p_user bigint, p_show bigint,
    p_seats bigint[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	v_locked integer;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended(
	    'claim:' || p_user || ':' || p_show, 0));
	SELECT count(*) INTO v_locked FROM (
		SELECT s.id FROM seats s
		WHERE s.id = ANY (p_seats) AND s.show_id = p_show
		ORDER BY s.id FOR UPDATE) l;
	RETURN v_locked;
END
$$;

-- The requested seats that are not available to p_user (see the rule at
-- the top); call with the seats locked. PL/pgSQL rather than SQL so its
-- plans are cached per connection.
CREATE FUNCTION seat_blockers(p_user bigint, p_seats bigint[])
RETURNS bigint[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_blocked bigint[];
BEGIN
	SELECT coalesce(array_agg(r.id ORDER BY r.id), '{}') INTO v_blocked
	FROM unnest(p_seats) AS r(id)
	JOIN seat_states ss ON ss.seat_id = r.id
	WHERE ss.status = 'booked'
	OR (ss.status = 'held' AND EXISTS (
		SELECT 1 FROM hold_seats hs JOIN holds ho ON ho.id = hs.hold_id
		WHERE hs.seat_id = r.id AND ho.released_at IS NULL
		AND ho.expires_at > now() AND ho.user_id <> p_user));
	RETURN v_blocked;
END
$$;

-- How many distinct seats p_user would hold or book on p_show with p_seats.
CREATE FUNCTION seat_claim_count(p_user bigint, p_show bigint,
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

-- Why a claim cannot proceed, or NULL: the checks shared by holds and
-- bookings, in the order a client would want to hear about them.
CREATE FUNCTION seat_claim_check(p_user bigint, p_show bigint,
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

-- POST /api/holds: one row per seat of the new hold, or one row with an
-- outcome other than 'created' (and the offending seat ids).
CREATE FUNCTION hold_claim(p_user bigint, p_show bigint, p_seats bigint[],
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
 * POST /api/bookings. Seats come from p_seats, or from the caller's hold
 * p_hold. Answers one row per seat of the booking with outcome 'created'
 * or 'existing' (this user's Idempotency-Key was used before for the same
 * request: the original booking), or one row with another outcome.
 *
 * The key is looked up after the locks of seat_claim_lock are held, so a
 * concurrent attempt with the same key waits for the first and then finds
 * its booking; bookings_user_idempotency_key catches anything else (23505,
 * retried by the server, which then finds the original).
 *
 * p_payment_window NULL makes a confirmed booking; otherwise it starts
 * pending_payment and lapses at now() + p_payment_window.
 */
CREATE FUNCTION booking_claim(p_user bigint, p_show bigint, p_seats bigint[],
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

/*
 * POST /api/bookings/{id}/cancel by its owner: one row per seat with
 * outcome 'cancelled' (also when it already was), or one row with
 * 'booking_not_found', 'cancellation_closed' (the show has started) or
 * 'booking_not_cancellable' (expired). Seats are freed by the status trigger.
 */
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
