-- trivial.lua -- the ceiling: a token-poll-shaped POST to the trivial C
-- responder (location /__bench/trivial), which always answers 400
-- authorization_pending.
local stats = require "stats"

wrk.method = "POST"
wrk.path = "/__bench/trivial"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code" ..
   "&device_code=0123456789abcdefghijklmnopqrstuvwxyzABCDEFG&client_id=demo-tv"

setup = stats.setup
done = stats.done
function response(status, headers, body)
   stats.count(status, body)
end
