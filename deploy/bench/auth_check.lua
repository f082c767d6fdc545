-- auth_check.lua -- API requests through nginx's auth_request gateway
-- (nginx/devicegate-gateway.conf): GET a protected location with
-- "Authorization: Bearer <token>", cycling over the access tokens in a file.
--
--   wrk ... -s auth_check.lua URL -- TOKENS_FILE
--
-- Every request costs nginx one FastCGI subrequest to a devicegate worker,
-- which checks the token (signature once per token and worker, then cached;
-- expiry and revocation every time) before nginx serves the resource.
local stats = require "stats"

setup = stats.setup
done = stats.done

local tokens = {}
local next_index = 1

function init(args)
   assert(args[1], "usage: -- TOKENS_FILE")
   for line in io.lines(args[1]) do
      if line ~= "" then
         tokens[#tokens + 1] = { Authorization = "Bearer " .. line }
      end
   end
   assert(#tokens > 0, "no tokens in " .. args[1])
   -- Threads start at different tokens.
   next_index = (thread_id * 7) % #tokens + 1
end

function request()
   local headers = tokens[next_index]
   next_index = next_index % #tokens + 1
   return wrk.format("GET", nil, headers, nil)
end

function response(status, headers, body)
   stats.count(status, body)
end
