-- wrk script for scripts/bench-halls.sh: GETs of one path, and one
-- RESULT line with requests/s, non-2xx answers, socket errors and
-- p50/p99/p99.9 (ms). No response() hook: wrk would hand every body to
-- Lua, which costs more than the server for a 1 MB seat map.

function done(summary, latency, requests)
	local secs = summary.duration / 1e6
	io.write(string.format("RESULT per_s=%.0f non2xx=%d errors=%d "
	    .. "p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f\n",
	    summary.requests / secs, summary.errors.status,
	    summary.errors.connect + summary.errors.read +
	    summary.errors.write + summary.errors.timeout,
	    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
	    latency:percentile(99.9) / 1000))
end
