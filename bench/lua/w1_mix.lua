-- W1: the accept path under a realistic mix.
-- Half the requests answer customers whose 24-hour window is open (free-form text to the numbers the
-- bench had write in first), half send the seeded hello_world template to numbers never seen before.
-- Counts 2xx and other responses so the bench can compare them with the rows committed.
local token = os.getenv("WAGATE_BENCH_TOKEN")
local number = os.getenv("WAGATE_BENCH_NUMBER")
local open_windows = tonumber(os.getenv("WAGATE_BENCH_OPEN_WINDOWS") or "1000")
local path = "/v23.0/" .. number .. "/messages"
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
local threads = {}
local counter = 0
ok, other = 0, 0  -- globals: done() reads them from each thread

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + id * 7919)
end

function request()
  counter = counter + 1
  local body
  if counter % 2 == 0 then
    local customer = string.format("+7916%07d", math.random(0, open_windows - 1))
    body = '{"messaging_product":"whatsapp","to":"' .. customer ..
      '","type":"text","text":{"body":"Your order is ready for pickup at the Tverskaya store until 21:00."}}'
  else
    local fresh = string.format("+7926%07d", math.random(0, 9999999))
    body = '{"messaging_product":"whatsapp","to":"' .. fresh ..
      '","type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}'
  end
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local total_ok, total_other = 0, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_other = total_other + thread:get("other")
  end
  io.write(string.format("WRK_COUNTS ok=%d other=%d\n", total_ok, total_other))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("WRK_LATENCY p%s=%.3f\n", p, latency:percentile(p) / 1000.0))
  end
end
