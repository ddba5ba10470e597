-- Back to 011's seat_free_at_least (and booking_claim, see below).
ALTER FUNCTION hold_claim_best(bigint, bigint, integer, text, integer,
    integer) RESET enable_bitmapscan;
CREATE OR REPLACE FUNCTION seat_free_at_least(p_show bigint, p_min integer)
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
DROP INDEX IF EXISTS seat_busy_show;
