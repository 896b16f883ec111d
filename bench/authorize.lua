-- wrk script: authorization requests from a signed-in browser whose consent is remembered, so
-- each answer is a 303 to the app carrying a fresh code. The codes are appended to PC_CODES
-- for bench/exchange.lua. PC_COOKIE is the session cookie; the URL path carries the request.
wrk.headers["Cookie"] = os.getenv("PC_COOKIE")
local codes = io.open(os.getenv("PC_CODES"), "a")
-- Line-buffered: the thread's Lua state is never closed, so nothing buffered may be left over.
codes:setvbuf("line")
local failures = 0

response = function(status, headers, body)
  local location = headers["location"] or headers["Location"] or ""
  local code = location:match("[?&]code=([^&]+)")
  if status == 303 and code then
    codes:write(code, "\n")
  else
    failures = failures + 1
  end
end

done = function(summary, latency, requests)
  io.write(string.format("BENCH requests=%d seconds=%.2f rps=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout))
end
