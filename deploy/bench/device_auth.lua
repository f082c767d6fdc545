-- device_auth.lua -- RFC 8628 section 3.1 device authorization requests from
-- the public demo client.
--
--   wrk ... -s device_auth.lua URL -- [CODES_PREFIX]
--
-- With CODES_PREFIX, each thread appends the device_code of every 200 answer
-- to CODES_PREFIX<thread>.txt: the pending flows the poll scenarios use.
local stats = require "stats"

wrk.method = "POST"
wrk.path = "/application/o/device/"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "client_id=demo-tv&scope=openid"

setup = stats.setup
done = stats.done

local codes_file = nil

function init(args)
   if args[1] then
      codes_file = assert(io.open(args[1] .. thread_id .. ".txt", "w"))
   end
end

function response(status, headers, body)
   stats.count(status, body)
   if codes_file and status == 200 then
      local code = body:match('"device_code"%s*:%s*"([^"]+)"')
      if code then
         codes_file:write(code, "\n")
         codes_file:flush()
      end
   end
end
