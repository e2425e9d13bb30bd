-- Cycles through a request file, one request a line: METHOD <tab> PATH <tab> BODY (may be empty).
-- Usage: wrk -s bench/wrk/requests.lua URL -- REQUEST_FILE API_KEY
-- Each thread starts at another place in the file. done() prints one line, "BENCH_RESULT {json}",
-- with the counts, errors and latency percentiles (microseconds) that bench/load.py reads.

local prepared = {}
local position = 0
local thread_count = 0

function setup(thread)
  thread:set("thread_number", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  local path, key = args[1], args[2]
  for line in io.lines(path) do
    local method, target, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = { ["Authorization"] = "Bearer " .. key }
    if body == "" then
      body = nil
    else
      headers["Content-Type"] = "application/json"
    end
    prepared[#prepared + 1] = wrk.format(method, target, headers, body)
  end
  if #prepared == 0 then
    error("no requests in " .. path)
  end
  position = ((thread_number or 0) * 7919) % #prepared
end

function request()
  position = position % #prepared + 1
  return prepared[position]
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p95": %d, "p99": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99)))
end
