-- wrk script for scripts/bench-halls.sh: GETs of one path, and one
-- RESULT line with requests/s, non-2xx answers and p50/p99/p99.9 (ms).
-- Any status counts as an answer (the trivial handler answers 404).

local threads = {}

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	bad = 0
end

function response(status, headers, body)
	if status >= 500 then
		bad = bad + 1
	end
end

function done(summary, latency, requests)
	local b = 0
	for _, t in ipairs(threads) do
		b = b + t:get("bad")
	end
	local secs = summary.duration / 1e6
	io.write(string.format("RESULT per_s=%.0f 5xx=%d errors=%d "
	    .. "p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f\n",
	    summary.requests / secs, b,
	    summary.errors.connect + summary.errors.read +
	    summary.errors.write + summary.errors.timeout,
	    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
	    latency:percentile(99.9) / 1000))
end
