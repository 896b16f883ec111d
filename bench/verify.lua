-- wrk script: POST /api-keys/verify as a gateway (HTTP Basic) for one key, from one end-client
-- address, asking for one scope. PC_BASIC holds base64(client_id:client_secret), PC_KEY the key.
wrk.method = "POST"
wrk.body = string.format('{"key":"%s","scope":"quote:read","ip":"198.51.100.7"}', os.getenv("PC_KEY"))
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic " .. os.getenv("PC_BASIC")

done = function(summary, latency, requests)
  io.write(string.format("BENCH requests=%d seconds=%.2f rps=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout))
end
