DROP FUNCTION hold_sweep(integer, interval);
DROP FUNCTION show_seat_ttl_ms(bigint, integer);
DROP INDEX bookings_hold;
DROP INDEX holds_expires;
DROP INDEX bookings_show_pending;
DROP INDEX holds_show_live;
