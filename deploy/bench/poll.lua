-- poll.lua -- RFC 8628 section 3.4 device access token requests (polling)
-- cycling through a list of pending device codes.
--
--   wrk -t THREADS ... -s poll.lua URL -- CODES_FILE THREADS
--
-- Thread i of n polls codes i, i+n, i+2n, ... in order and starts over at the
-- end, so a code is polled again only after its thread went through all of
-- its share. A code polled again within its interval (5 s) is answered
-- slow_down (RFC 8628 section 3.5); to measure authorization_pending instead,
-- give at least 5 x (requests/s) codes.
local stats = require "stats"

setup = stats.setup
done = stats.done

local bodies = {}
local next_index = 1
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local prefix = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code" ..
   "&client_id=demo-tv&device_code="

function init(args)
   local path, nthreads = args[1], tonumber(args[2])
   assert(path and nthreads, "usage: -- CODES_FILE THREADS")
   local index = 0
   for line in io.lines(path) do
      if line ~= "" then
         if index % nthreads == thread_id then
            bodies[#bodies + 1] = prefix .. stats.form_escape(line)
         end
         index = index + 1
      end
   end
   assert(#bodies > 0, "no device codes for thread " .. thread_id)
end

function request()
   local body = bodies[next_index]
   next_index = next_index % #bodies + 1
   return wrk.format("POST", "/application/o/token/", headers, body)
end

function response(status, headers, body)
   stats.count(status, body)
end
