-- wrk script for scripts/bench-bookings.sh: POST /api/bookings with a
-- unique Idempotency-Key per request and a rotating user.
--
-- Arguments (after --): mode tokens_file first_seat users seats_per_show
--   shows run
-- mode "spread": every request books a seat no one else asks for; user u
--   books seats u*10 .. u*10+9 of a show, then moves to the next show,
--   so the 10-seat limit is never reached.
-- mode "contended": every request asks for one of the first `shows` seats
--   (here: a handful) of one show; all but the first few answer 409.
-- mode "hall": shows of seats_per_show seats, each line of the shows file
--   "<show id> <first seat id>"; every seat is asked for once.

local threads = {}
local counter = 0

function setup(thread)
	thread:set("tid", #threads)
	table.insert(threads, thread)
end

function init(args)
	mode = args[1]
	first_seat = tonumber(args[3])
	users = tonumber(args[4])
	seats_per_show = tonumber(args[5])
	shows = tonumber(args[6])
	run = args[7]
	nthreads = tonumber(args[8])
	tokens = {}
	show_ids = {}
	for line in io.lines(args[2]) do
		local uid, tok = line:match("^(%d+) (%S+)$")
		table.insert(tokens, tok)
	end
	first_seats = {}
	for line in io.lines(args[9]) do
		local id, first = line:match("^(%d+)%s*(%d*)$")
		table.insert(show_ids, tonumber(id))
		table.insert(first_seats, tonumber(first))
	end
	s201, s409, s4xx, s5xx = 0, 0, 0, 0
end

function request()
	local g = counter * nthreads + tid
	counter = counter + 1
	local user, seat, show
	if mode == "spread" then
		user = g % users
		local j = math.floor(g / users)
		local s = math.floor(j / 10) % shows
		show = show_ids[s + 1]
		seat = first_seat + s * seats_per_show + user * 10 + (j % 10)
	elseif mode == "hall" then
		-- Halls of seats_per_show seats: consecutive requests go to
		-- different shows, each seat once; a user has at most 10 seats
		-- of a show and rarely two requests on one show in flight.
		local s = g % shows
		local i = math.floor(g / shows) % seats_per_show
		local per = math.floor(seats_per_show / 10)
		user = (s * per + i % per) % users
		show = show_ids[s + 1]
		seat = first_seats[s + 1] + i
	else
		user = g % users
		show = show_ids[1]
		seat = first_seat + (g % shows)
	end
	local body = string.format('{"show_id": %d, "seat_ids": [%d]}',
	    show, seat)
	local headers = {
		["Content-Type"] = "application/json",
		["Authorization"] = "Bearer " .. tokens[user + 1],
		["Idempotency-Key"] = string.format("bench-%s-%d-%d", run,
		    tid, counter),
	}
	return wrk.format("POST", "/api/bookings", headers, body)
end

function response(status, headers, body)
	if status == 201 then
		s201 = s201 + 1
	elseif status == 409 then
		s409 = s409 + 1
	elseif status >= 500 then
		s5xx = s5xx + 1
	else
		s4xx = s4xx + 1
	end
end

function done(summary, latency, requests)
	local c201, c409, c4xx, c5xx = 0, 0, 0, 0
	for _, t in ipairs(threads) do
		c201 = c201 + t:get("s201")
		c409 = c409 + t:get("s409")
		c4xx = c4xx + t:get("s4xx")
		c5xx = c5xx + t:get("s5xx")
	end
	local secs = summary.duration / 1e6
	io.write(string.format("RESULT answered=%d secs=%.2f per_s=%.0f "
	    .. "created=%d created_per_s=%.0f conflict=%d other4xx=%d "
	    .. "5xx=%d errors=%d p50_ms=%.1f p99_ms=%.1f p999_ms=%.1f\n",
	    summary.requests, secs, summary.requests / secs, c201,
	    c201 / secs, c409, c4xx, c5xx,
	    summary.errors.connect + summary.errors.read +
	    summary.errors.write +
	    summary.errors.timeout,
	    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
	    latency:percentile(99.9) / 1000))
end
