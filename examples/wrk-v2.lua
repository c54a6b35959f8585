-- wrk script: POST one PNG to /v2/models/{name}/infer as a Triton client sends it: the JSON
-- request, then the image as BYTES with the binary tensor extension (Inference-Header-Content-
-- Length; a 4-byte little-endian length before the PNG), asking for score and evaluation.
--   wrk -t1 -c1 -d20s --latency -s examples/wrk-v2.lua http://127.0.0.1:8080/v2/models/NAME/infer
-- IMAGE (environment) picks the file; default examples/normal-7.png.
local path = os.getenv("IMAGE") or "examples/normal-7.png"
local f = assert(io.open(path, "rb"))
local png = f:read("*a")
f:close()
local n = #png
local elem = string.char(n % 256, math.floor(n / 256) % 256, math.floor(n / 65536) % 256,
                         math.floor(n / 16777216) % 256) .. png
local head = '{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],' ..
             '"parameters":{"binary_data_size":' .. #elem .. '}}],' ..
             '"outputs":[{"name":"score"},{"name":"evaluation"}]}'
wrk.method = "POST"
wrk.body = head .. elem
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Inference-Header-Content-Length"] = tostring(#head)

-- done(): request count, errors and latency percentiles, from wrk-report.lua beside this file.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk-report.lua")
