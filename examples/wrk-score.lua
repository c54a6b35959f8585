-- wrk script: POST one PNG to /score, as `curl --data-binary @IMAGE -H 'Content-Type: image/png'`.
--   wrk -t1 -c1 -d20s --latency -s examples/wrk-score.lua http://127.0.0.1:8080/score
-- IMAGE (environment) picks the file; default examples/normal-7.png. Query options go in the URL.
local path = os.getenv("IMAGE") or "examples/normal-7.png"
local f = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "image/png"

-- done(): the request count, socket errors, non-2xx/3xx answers ("status", e.g. 503 queue_full)
-- and latency percentiles, from wrk-report.lua beside this file.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk-report.lua")
