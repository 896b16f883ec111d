-- wrk script for the soak: client_credentials token requests, each connection pausing
-- PC_DELAY_MS between requests so the offered rate stays at a chosen share of capacity.
-- wrk takes whole milliseconds, so a fractional pause is drawn per request: 1.4 ms is 2 ms
-- four times in ten and 1 ms otherwise, 1.4 ms on average.
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=quote:read"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("PC_BASIC")

local pause = tonumber(os.getenv("PC_DELAY_MS") or "0")
local whole = math.floor(pause)
local fraction = pause - whole
delay = function()
  if math.random() < fraction then
    return whole + 1
  end
  return whole
end

done = function(summary, latency, requests)
  io.write(string.format("BENCH requests=%d seconds=%.2f rps=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
