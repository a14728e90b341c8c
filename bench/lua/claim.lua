-- wrk script: POST /api/agent/v1/jobs/claim, each request with the next device's own token.
-- BENCH_TOKENS: file with one device token per line; each wrk thread walks its own share once.
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do
  if #line > 0 then tokens[#tokens + 1] = line end
end
local threads = 0

function setup(thread)
  local total = tonumber(os.getenv("BENCH_THREADS") or "2")
  thread:set("offset", threads * math.floor(#tokens / total))
  threads = threads + 1
end

local counter = 0

function request()
  counter = counter + 1
  local token = tokens[((offset + counter - 1) % #tokens) + 1]
  return wrk.format("POST", "/api/agent/v1/jobs/claim",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, "{}")
end
