-- wrk script for bench/registry.sh.
--   WRK_METHOD  request method (default GET; HEAD for blob HEADs)
-- Prints one machine-readable line at the end:
--   WRKRESULT requests rps p50_us p99_us status_errors connect read write timeout bytes
local method = os.getenv("WRK_METHOD")
if method and method ~= "" then
  wrk.method = method
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRKRESULT %d %.1f %.0f %.0f %d %d %d %d %d %d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout, summary.bytes))
end
