-- seat_claim_check as migration 005 made it.
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

DROP FUNCTION hold_sweep(integer, interval);
DROP FUNCTION show_seat_ttl_ms(bigint, integer);
DROP INDEX bookings_hold;
DROP INDEX holds_expires;
DROP INDEX bookings_show_pending;
DROP INDEX holds_show_live;
