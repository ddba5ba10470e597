-- A sold-out show's best-available ask in well under a millisecond of
-- database time (docs/sellout.md, "Where a sold-out ask's time went").
--
-- 1. seat_free_at_least (011) answered a sold-out show in ~0.8 ms of
--    database time: a SQL function with settings of its own is never
--    inlined, so it was planned on every call (~0.6 ms), and its plan
--    found the show's rows through the shows_no_overlap GiST index and
--    then probed seat_busy_row once per row of the screen. Now one
--    range of a (show_id, busy_until) index answers it: a sold-out show
--    is one descent into an empty range, and the function is PL/pgSQL,
--    so its plan is made once per connection. It runs under the
--    settings of its callers (hold_claim_best, seat_best_free): index
--    scans only, no bitmap scans (plain index scans mark the entries of
--    dead snapshot rows dead as they pass).
CREATE INDEX seat_busy_show ON seat_busy (show_id, busy_until);

CREATE OR REPLACE FUNCTION seat_free_at_least(p_show bigint, p_min integer)
RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT count(*) >= p_min FROM (SELECT 1 FROM seat_busy b
	    WHERE b.show_id = p_show AND b.busy_until <= now()
	    LIMIT p_min) c);
END
$$;

ALTER FUNCTION hold_claim_best(bigint, bigint, integer, text, integer,
    integer) SET enable_bitmapscan = off;

