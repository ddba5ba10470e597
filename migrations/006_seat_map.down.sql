DROP FUNCTION IF EXISTS show_seats_available(bigint);
DROP FUNCTION IF EXISTS show_seat_map(bigint, bigint);
