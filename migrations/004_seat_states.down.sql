DROP VIEW IF EXISTS seat_states;
