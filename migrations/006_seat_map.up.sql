-- The seat map and a show's available-seat count as PL/pgSQL functions.
-- Through seat_states, planning these statements costs about four times
-- their execution; a PL/pgSQL function keeps its plan for the life of the
-- connection (a generic plan: the shape never depends on the show).
-- Availability stays defined once, by the seat_states view.

CREATE FUNCTION show_seat_map(p_show bigint, p_user bigint)
RETURNS TABLE (show_id bigint, seat_id bigint, row_label text,
    seat_number integer, tier text, price_cents integer, status text,
    held_by_me boolean)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
	-- One row per seat; one row of NULL seat columns for a show without
	-- seats; no row for an unknown show.
	RETURN QUERY
	SELECT s.id, x.id, x.row_label, x.number, x.tier, x.price_cents,
	    coalesce(st.status, 'available'),
	    coalesce(st.holder_id = p_user, false)
	FROM shows s
	LEFT JOIN seats x ON x.show_id = s.id
	LEFT JOIN seat_states st ON st.seat_id = x.id
	WHERE s.id = p_show
	ORDER BY x.id;
END
$$;

CREATE FUNCTION show_seats_available(p_show bigint) RETURNS bigint
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
	n	bigint;
BEGIN
	SELECT count(*) INTO n FROM seats x
	JOIN seat_states st ON st.seat_id = x.id
	WHERE x.show_id = p_show AND st.status = 'available';
	RETURN n;
END
$$;
