-- What every seat of every show is doing right now. The catalog reads the
-- seat map through this view only. Until holds and bookings exist every
-- seat is available; the bookings migration replaces the view (CREATE OR
-- REPLACE VIEW, same columns in the same order) with the real states.
--   status:	'available', 'held' or 'booked'
--   holder_id:	the user holding or owning the seat, NULL when available
CREATE VIEW seat_states AS
	SELECT id AS seat_id, 'available'::text AS status,
	    NULL::bigint AS holder_id
	FROM seats;
