-- stats.lua -- shared by the bench scenarios (loaded with require "stats";
-- bench.sh puts this directory on LUA_PATH).
--
-- Counts responses per "STATUS oauth_error" in every wrk thread and, when wrk
-- is done, prints machine-readable lines for bench.sh:
--   BENCH requests=N duration_us=N p50_us=N p99_us=N max_us=N
--         connect=N read=N write=N timeout=N non2xx3xx=N
--   BENCH_STATUS <status> <error or -> <count>
-- setup/done run in wrk's main Lua state, init/response in each thread's own.

local stats = {}

local threads = {}

-- Main state: number the threads (0..n-1) so scenarios can split work.
function stats.setup(thread)
   thread:set("thread_id", #threads)
   table.insert(threads, thread)
end

-- Thread state: count one response by status and OAuth "error" member.
counts = {}
function stats.count(status, body)
   local err = body and body:match('"error"%s*:%s*"([^"]*)"') or "-"
   local key = status .. " " .. err
   counts[key] = (counts[key] or 0) + 1
end

-- Main state: add up the threads' counts and print the summary lines.
function stats.done(summary, latency)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d " ..
      "connect=%d read=%d write=%d timeout=%d non2xx3xx=%d\n",
      summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(99), latency.max,
      e.connect, e.read, e.write, e.timeout, e.status))
   local total = {}
   for _, thread in ipairs(threads) do
      for key, n in pairs(thread:get("counts") or {}) do
         total[key] = (total[key] or 0) + n
      end
   end
   for key, n in pairs(total) do
      io.write(string.format("BENCH_STATUS %s %d\n", key, n))
   end
end

-- application/x-www-form-urlencoded value.
function stats.form_escape(s)
   return (s:gsub("[^%w%-%._~]", function(c)
      return string.format("%%%02X", c:byte())
   end))
end

return stats
