-- wrk script: POST one PNG to /score, as `curl --data-binary @IMAGE -H 'Content-Type: image/png'`.
--   wrk -t1 -c1 -d20s --latency -s examples/wrk-score.lua http://127.0.0.1:8080/score
-- IMAGE (environment) picks the file; default examples/normal-7.png. Query options go in the URL.
local path = os.getenv("IMAGE") or "examples/normal-7.png"
local f = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "image/png"

-- "status" counts answers other than 2xx/3xx (e.g. 503 queue_full), beside the latency figures.
function done(summary, latency, requests)
  io.write(string.format("requests %d, errors: connect %d read %d write %d timeout %d status %d\n",
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status))
  io.write(string.format("latency p50 %.1f ms  p90 %.1f ms  p99 %.1f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000))
end
