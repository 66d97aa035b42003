-- W3: Meta's webhook notifications, one signed event per POST, read from a file the bench wrote
-- (each line: signature, a tab, the body). Thread k of T in all sends lines k, k+T, k+2T, ... in
-- order, wrapping around at the end. Counts what each thread issued and how many 2xx came back.
local path = os.getenv("WAGATE_BENCH_REQUESTS")
local nthreads = tonumber(os.getenv("WAGATE_BENCH_THREADS") or "2")
-- With one wrk per API process, this one's threads come after the other processes' (bench.common).
local offset = tonumber(os.getenv("WAGATE_BENCH_THREAD_OFFSET") or "0")
local threads = {}
local lines = {}
local next_line = 1
issued, ok, other = 0, 0, 0  -- globals: done() reads them from each thread

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local total = 0
  for line in io.lines(path) do
    if total % nthreads == id + offset then
      local tab = string.find(line, "\t", 1, true)
      table.insert(lines, {string.sub(line, 1, tab - 1), string.sub(line, tab + 1)})
    end
    total = total + 1
  end
end

function request()
  local item = lines[next_line]
  next_line = next_line + 1
  if next_line > #lines then next_line = 1 end
  issued = issued + 1
  return wrk.format("POST", "/webhooks/meta",
    {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = item[1]}, item[2])
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local total_ok, total_other = 0, 0
  for _, thread in ipairs(threads) do
    io.write(string.format("WRK_THREAD id=%d issued=%d\n", thread:get("id") + offset, thread:get("issued")))
    total_ok = total_ok + thread:get("ok")
    total_other = total_other + thread:get("other")
  end
  io.write(string.format("WRK_COUNTS ok=%d other=%d\n", total_ok, total_other))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("WRK_LATENCY p%s=%.3f\n", p, latency:percentile(p) / 1000.0))
  end
end
