-- wrk script for tools/blackbox/blackbox_rate.sh.
-- Each request asks blackbox_exporter to probe the next target in
-- 127.2.X.Y:PORT (index i -> X = i // 250, Y = i % 250 + 1, as listeners.py),
-- each wrk thread starting at its own offset. Counts responses whose body
-- holds "probe_success 1" (ok) versus anything else (fail), and prints
-- machine-readable "WRK <key> <value>" lines from done().
-- Args after `--`: TARGETS THREADS [PORT] [MODULE]

local threads = {}

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function init(args)
   local n = tonumber(args[1]) or 5000
   local nthreads = tonumber(args[2]) or 1
   local port = args[3] or "7500"
   local module = args[4] or "tcp_connect"
   paths = {}
   for i = 0, n - 1 do
      paths[i + 1] = string.format("/probe?module=%s&target=127.2.%d.%d:%s",
                                   module, math.floor(i / 250), i % 250 + 1, port)
   end
   ntargets = n
   idx = math.floor(tid * n / nthreads)
   ok = 0
   fail = 0
end

function request()
   idx = idx % ntargets + 1
   return wrk.format(nil, paths[idx])
end

function response(status, headers, body)
   if status == 200 and body and string.find(body, "probe_success 1", 1, true) then
      ok = ok + 1
   else
      fail = fail + 1
   end
end

function done(summary, latency, requests)
   local tok, tfail = 0, 0
   for _, t in ipairs(threads) do
      tok = tok + (t:get("ok") or 0)
      tfail = tfail + (t:get("fail") or 0)
   end
   local e = summary.errors
   print(string.format("WRK duration_us %d", summary.duration))
   print(string.format("WRK requests %d", summary.requests))
   print(string.format("WRK ok %d", tok))
   print(string.format("WRK fail %d", tfail))
   print(string.format("WRK err_connect %d", e.connect))
   print(string.format("WRK err_read %d", e.read))
   print(string.format("WRK err_write %d", e.write))
   print(string.format("WRK err_status %d", e.status))
   print(string.format("WRK err_timeout %d", e.timeout))
   print(string.format("WRK p50_us %d", latency:percentile(50)))
   print(string.format("WRK p90_us %d", latency:percentile(90)))
   print(string.format("WRK p99_us %d", latency:percentile(99)))
   print(string.format("WRK max_us %d", latency.max))
end
