-- wrk script for the cluster and soak tests: cycles through a list of requests and counts every
-- answer by status, so the shell scripts can account for each request.
--
--   wrk ... -s scripts/wrk-mix.lua http://127.0.0.1:PORT -- SPEC_FILE
--
-- SPEC_FILE has one request per line: METHOD PATH CONTENT_TYPE BODY_FILE (CONTENT_TYPE and
-- BODY_FILE may be "-" for none). Each thread starts at a different line. done() prints
--   wrk-requests N                 completed requests (answers received)
--   wrk-status CODE N              answers per HTTP status
--   wrk-errors connect=.. read=.. write=.. timeout=..   socket errors (requests without answer)
--   wrk-no-retry-after N           503 answers without a Retry-After header

local threads = {}
local counter = 0

function setup(thread)
    counter = counter + 1
    thread:set("offset", counter)
    table.insert(threads, thread)
end

local function read_file(path)
    local f = assert(io.open(path, "rb"), "cannot open " .. path)
    local s = f:read("*a")
    f:close()
    return s
end

function init(args)
    local spec = args[1] or error("wrk-mix.lua: give the spec file after --")
    reqs = {}
    for line in io.lines(spec) do
        local method, path, ctype, body = line:match("^(%S+)%s+(%S+)%s+(%S+)%s+(%S+)%s*$")
        if method then
            local headers = {}
            if ctype ~= "-" then headers["Content-Type"] = ctype end
            local b = nil
            if body ~= "-" then b = read_file(body) end
            table.insert(reqs, wrk.format(method, path, headers, b))
        end
    end
    assert(#reqs > 0, "wrk-mix.lua: no requests in " .. spec)
    n = offset or 0
    statuses = {}
    no_retry_after = 0
end

function request()
    n = n + 1
    return reqs[(n % #reqs) + 1]
end

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
    if status == 503 and headers["Retry-After"] == nil and headers["retry-after"] == nil then
        no_retry_after = no_retry_after + 1
    end
end

function done(summary, latency, requests)
    local total, missing = {}, 0
    for _, t in ipairs(threads) do
        for code, count in pairs(t:get("statuses")) do
            total[code] = (total[code] or 0) + count
        end
        missing = missing + t:get("no_retry_after")
    end
    io.write(string.format("wrk-requests %d\n", summary.requests))
    for code, count in pairs(total) do
        io.write(string.format("wrk-status %d %d\n", code, count))
    end
    local e = summary.errors
    io.write(string.format("wrk-errors connect=%d read=%d write=%d timeout=%d\n",
                           e.connect, e.read, e.write, e.timeout))
    io.write(string.format("wrk-no-retry-after %d\n", missing))
    io.write(string.format("wrk-latency p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
                           latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                           latency.max / 1000))
end
