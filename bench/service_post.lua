-- wrk script for bench/service_bench.sh: POSTs an ordinary message as JSON, cycling over 64
-- sessions, with the service token from $MODELPIN_SERVICE_TOKEN. The path comes from the URL.
local token = os.getenv("MODELPIN_SERVICE_TOKEN") or ""
local requests = {}

init = function(args)
  local path = wrk.path
  for i = 1, 64 do
    local body = string.format('{"text":"hello, how are you today?","session":"agent:main:bench%d"}', i)
    requests[i] = wrk.format("POST", path, {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
    }, body)
  end
end

local n = 0
request = function()
  n = n % 64 + 1
  return requests[n]
end

local bad = 0
response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("BENCH requests=%d seconds=%.3f p50_us=%d p99_us=%d errors=%d non200=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
