-- wrk script: one-time credentials spent at the token endpoint, each exactly once.
--   PC_MODE=code     authorization_code grant with PKCE: codes from PC_INPUT (bench/authorize.lua),
--                    refresh tokens from the answers appended to PC_OUTPUT;
--   PC_MODE=refresh  refresh_token grant: refresh tokens from PC_INPUT.
-- PC_BASIC is base64(client_id:client_secret); PC_REDIRECT and PC_VERIFIER match the requests.
-- When the input runs out the run stops early (the summary then covers only the credentials
-- spent; the last few in-flight requests carry an empty one and count as errors).
local mode = os.getenv("PC_MODE")
local input = io.open(os.getenv("PC_INPUT"), "r")
local output = os.getenv("PC_OUTPUT") and io.open(os.getenv("PC_OUTPUT"), "a")
-- Line-buffered: the thread's Lua state is never closed, so nothing buffered may be left over.
if output then output:setvbuf("line") end
local redirect = os.getenv("PC_REDIRECT")
local verifier = os.getenv("PC_VERIFIER")
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = "Basic " .. os.getenv("PC_BASIC"),
}
local failures = 0

local function escape(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local exhausted = false

request = function()
  local credential = input:read("*l")
  if not credential then
    exhausted = true
    credential = ""
  end
  local body
  if mode == "code" then
    body = "grant_type=authorization_code&code=" .. escape(credential) .. "&redirect_uri="
      .. escape(redirect) .. "&code_verifier=" .. verifier
  else
    body = "grant_type=refresh_token&refresh_token=" .. escape(credential)
  end
  return wrk.format("POST", nil, headers, body)
end

response = function(status, headers, body)
  if exhausted then
    wrk.thread:stop()
  end
  if status ~= 200 then
    failures = failures + 1
    return
  end
  if output then
    local refresh = body:match('"refresh_token":"([^"]+)"')
    if refresh then output:write(refresh, "\n") end
  end
end

done = function(summary, latency, requests)
  io.write(string.format("BENCH requests=%d seconds=%.2f rps=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout))
end
