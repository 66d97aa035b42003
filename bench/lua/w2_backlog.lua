-- W2 set-up: queue utility templates to distinct numbers (one message each, so the pair rate
-- limit never applies), as fast as the accept path takes them.
local token = os.getenv("WAGATE_BENCH_TOKEN")
local number = os.getenv("WAGATE_BENCH_NUMBER")
local path = "/v23.0/" .. number .. "/messages"
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function request()
  counter = counter + 1
  local to = string.format("+7926%02d%05d", id, counter % 100000)
  local body = '{"messaging_product":"whatsapp","to":"' .. to ..
    '","type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}'
  return wrk.format("POST", path, headers, body)
end
