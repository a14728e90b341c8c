-- wrk script: POST /api/agent/v1/checkin, each request with the next device's own token.
-- BENCH_TOKENS: file with one device token per line. BENCH_RATE (optional): total requests
-- per second to pace to; with BENCH_CONNECTIONS it spreads the rate over the connections.
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do
  if #line > 0 then tokens[#tokens + 1] = line end
end
local rate = tonumber(os.getenv("BENCH_RATE") or "0")
local connections = tonumber(os.getenv("BENCH_CONNECTIONS") or "1")
local body = '{"agent_version":"1.0.0","hostname":"bench","inventory_hash":null,"reboot_required":false,"uptime_seconds":3600}'
local counter = 0
local threads = 0

-- Each thread walks its own contiguous share of the tokens, so a run longer than
-- (#tokens / threads) requests per thread checks in every device.
function setup(thread)
  local total = tonumber(os.getenv("BENCH_THREADS") or "2")
  thread:set("offset", threads * math.floor(#tokens / total))
  threads = threads + 1
end

function request()
  counter = counter + 1
  local token = tokens[((offset + counter) % #tokens) + 1]
  return wrk.format("POST", "/api/agent/v1/checkin",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end

function delay()
  if rate <= 0 then return 0 end
  -- Each connection waits on average connections/rate seconds between requests (randomised
  -- so the connections do not fire in lockstep).
  return connections * 1000 / rate * (0.5 + math.random())
end
