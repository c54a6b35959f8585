-- wrk-report.lua: the done() both example wrk scripts (wrk-score.lua, wrk-v2.lua) end with,
-- loaded by them with dofile from the folder they are in. It prints the request count, the
-- socket errors and "status" (answers other than 2xx/3xx, e.g. 503 queue_full), then the
-- latency percentiles; scripts/bench-overload.sh parses these two lines.
function done(summary, latency, requests)
  io.write(string.format("requests %d, errors: connect %d read %d write %d timeout %d status %d\n",
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status))
  io.write(string.format("latency p50 %.1f ms  p90 %.1f ms  p99 %.1f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000))
end
