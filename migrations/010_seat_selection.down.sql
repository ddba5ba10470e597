DROP FUNCTION IF EXISTS show_live_seats(bigint);
DROP FUNCTION IF EXISTS hold_claim_best(bigint, bigint, integer, text,
    integer, integer);
DROP FUNCTION IF EXISTS seat_best_block(bigint, integer, text);
DROP FUNCTION IF EXISTS hold_extend(bigint, bigint);
ALTER TABLE screen_rows DROP COLUMN IF EXISTS aisles_after;
DROP TRIGGER IF EXISTS holds_lifetime ON holds;
DROP FUNCTION IF EXISTS holds_set_lifetime();
ALTER TABLE holds DROP COLUMN IF EXISTS lifetime;
