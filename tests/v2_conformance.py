#!/usr/bin/env python3
"""Drives the Open Inference Protocol routes of a running inspectd as a KServe v2 / Triton
client would (python3 standard library only).

    v2_conformance.py URL ANOGAN_MODEL PNG_FILE [GCN_MODEL]

Checks: server metadata, liveness and readiness; model metadata (name, versions, inputs and
outputs with their datatypes and shapes); model readiness; inference with JSON (base64 BYTES),
with the binary tensor extension (Inference-Header-Content-Length, Triton's 4-byte length
prefix on BYTES elements, binary outputs), with UINT8 [H, W, C] pixels; the request id echoed;
the same score by every framing; and the refusals: a wrong datatype, shape, header or input
name gives 400, an unknown model 404, each with the protocol's {"error": "..."} body. Exits 1
naming every failed check."""
import base64
import json
import struct
import sys
import urllib.error
import urllib.request
import zlib

URL, MODEL, PNG = sys.argv[1], sys.argv[2], sys.argv[3]
GCN = sys.argv[4] if len(sys.argv) > 4 else None
FAILS = []
CHECKS = 0


def check(what, cond, detail=""):
    global CHECKS
    CHECKS += 1
    if not cond:
        FAILS.append(f"{what} {detail}")
        print(f"FAIL: {what} {detail}")


def call(method, path, body=None, headers=None):
    req = urllib.request.Request(URL + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(path):
    code, _, body = call("GET", path)
    try:
        return code, json.loads(body)
    except ValueError:
        return code, None


def infer_json(model, doc):
    code, h, body = call("POST", f"/v2/models/{model}/infer", json.dumps(doc).encode(),
                         {"Content-Type": "application/json"})
    try:
        return code, h, json.loads(body)
    except ValueError:
        return code, h, None


def is_v2_error(doc):
    return isinstance(doc, dict) and isinstance(doc.get("error"), str) and doc["error"]


def split_binary(h, body):
    """(json, binary tail) of an answer, framed or not."""
    n = {k.lower(): v for k, v in h.items()}.get("inference-header-content-length")
    if n is None:
        return json.loads(body), b""
    n = int(n)
    return json.loads(body[:n]), body[n:]


def outputs_by_name(doc):
    return {o["name"]: o for o in doc.get("outputs", [])}


png = open(PNG, "rb").read()
b64 = base64.b64encode(png).decode()

# ---- server ----
code, doc = get_json("/v2")
check("GET /v2 200", code == 200, code)
check("server metadata", doc and doc.get("name") and doc.get("version") and
      "binary_tensor_data" in doc.get("extensions", []), doc)
code, doc = get_json("/v2/health/live")
check("live", code == 200 and doc == {"live": True}, (code, doc))
code, doc = get_json("/v2/health/ready")
check("ready", code == 200 and doc == {"ready": True}, (code, doc))

# ---- model metadata ----
code, meta = get_json(f"/v2/models/{MODEL}")
check("model metadata 200", code == 200, code)
check("metadata name", meta and meta.get("name") == MODEL, meta)
versions = meta.get("versions", []) if meta else []
check("metadata versions", len(versions) == 1 and len(versions[0]) == 12, versions)
ins = {t["name"]: t for t in meta.get("inputs", [])} if meta else {}
outs = {t["name"]: t for t in meta.get("outputs", [])} if meta else {}
check("input image BYTES [-1]", ins.get("image", {}).get("datatype") == "BYTES" and
      ins["image"].get("shape") == [-1], ins)
for name, dt in [("score", "FP32"), ("evaluation", "BYTES"), ("reconstruction", "BYTES"),
                 ("anomaly_map", "BYTES")]:
    check(f"output {name} {dt}", outs.get(name, {}).get("datatype") == dt and
          outs[name].get("shape") == [-1], outs.get(name))
code, doc = get_json(f"/v2/models/{MODEL}/ready")
check("model ready", code == 200 and doc and doc.get("ready") is True, (code, doc))
code, doc = get_json(f"/v2/models/{MODEL}/versions/{versions[0] if versions else 'x'}")
check("metadata by version", code == 200, code)
code, doc = get_json(f"/v2/models/{MODEL}/versions/000000000000")
check("unknown version 404", code == 404 and is_v2_error(doc), (code, doc))
code, doc = get_json("/v2/models/no-such-model")
check("unknown model metadata 404", code == 404 and is_v2_error(doc), (code, doc))
code, doc = get_json("/v2/models/no-such-model/ready")
check("unknown model ready 404", code == 404 and is_v2_error(doc), (code, doc))

# ---- inference, JSON ----
params = {"iterations": 2, "seed": 1, "part_id": "P-1", "station": "S1"}
req = {"id": "req-42", "parameters": params,
       "inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": [b64]}]}
code, h, doc = infer_json(MODEL, req)
check("infer JSON 200", code == 200, (code, doc))
doc = doc or {}
check("id echoed", doc.get("id") == "req-42", doc.get("id"))
check("model_name", doc.get("model_name") == MODEL, doc.get("model_name"))
check("model_version", doc.get("model_version") in versions, doc.get("model_version"))
o = outputs_by_name(doc)
check("score FP32 [1]", o.get("score", {}).get("datatype") == "FP32" and
      o["score"].get("shape") == [1] and len(o["score"].get("data", [])) == 1, o.get("score"))
check("evaluation BYTES", o.get("evaluation", {}).get("datatype") == "BYTES" and
      o["evaluation"].get("data", [None])[0] in ("OK", "NOT_OK", "NOT_DECIDABLE"),
      o.get("evaluation"))
check("no pictures unless asked", "reconstruction" not in o and "anomaly_map" not in o, list(o))
check("part_id echoed", doc.get("parameters", {}).get("part_id") == "P-1", doc.get("parameters"))
score_json = o.get("score", {}).get("data", [None])[0]

# the pictures, asked for, as base64 PNGs in JSON
req2 = dict(req, outputs=[{"name": "score"}, {"name": "reconstruction"},
                          {"name": "anomaly_map"}])
code, h, doc = infer_json(MODEL, req2)
o = outputs_by_name(doc or {})
check("infer outputs 200", code == 200, code)
check("outputs in the order asked", [x["name"] for x in (doc or {}).get("outputs", [])] ==
      ["score", "reconstruction", "anomaly_map"], doc and [x["name"] for x in doc["outputs"]])
for k in ("reconstruction", "anomaly_map"):
    data = o.get(k, {}).get("data", [""])
    ok = False
    try:
        ok = base64.b64decode(data[0])[:8] == b"\x89PNG\r\n\x1a\n"
    except Exception:
        pass
    check(f"{k} is a PNG", ok)

# ---- inference, binary extension (as tritonclient sends it) ----
elem = struct.pack("<I", len(png)) + png
head = {"id": "bin-1", "parameters": params,
        "inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                    "parameters": {"binary_data_size": len(elem)}}],
        "outputs": [{"name": "score", "parameters": {"binary_data": True}},
                    {"name": "evaluation", "parameters": {"binary_data": True}},
                    {"name": "anomaly_map", "parameters": {"binary_data": False}}]}
hj = json.dumps(head).encode()
code, h, body = call("POST", f"/v2/models/{MODEL}/infer", hj + elem,
                     {"Content-Type": "application/octet-stream",
                      "Inference-Header-Content-Length": str(len(hj))})
check("infer binary 200", code == 200, (code, body[:200]))
if code == 200:
    doc, tail = split_binary(h, body)
    check("binary id echoed", doc.get("id") == "bin-1")
    at = 0
    got = {}
    for out in doc["outputs"]:
        n = out.get("parameters", {}).get("binary_data_size")
        if n is None:
            got[out["name"]] = out.get("data")
            continue
        got[out["name"]] = tail[at:at + n]
        at += n
    check("binary sizes add up", at == len(tail), (at, len(tail)))
    sb = got.get("score", b"")
    check("score 4 bytes", isinstance(sb, bytes) and len(sb) == 4, sb)
    if isinstance(sb, bytes) and len(sb) == 4:
        check("same score binary/JSON", abs(struct.unpack("<f", sb)[0] - score_json) <=
              1e-5 * max(1.0, abs(score_json)), (struct.unpack("<f", sb)[0], score_json))
    ev = got.get("evaluation", b"")
    check("evaluation length-prefixed", isinstance(ev, bytes) and len(ev) >= 4 and
          struct.unpack("<I", ev[:4])[0] == len(ev) - 4 and ev[4:].decode() in
          ("OK", "NOT_OK", "NOT_DECIDABLE"), ev)
    check("JSON output beside binary ones", isinstance(got.get("anomaly_map"), list))

# ---- inference, UINT8 [H, W, C] ----
def png_pixels(b):
    i, idat = 8, b""
    while i < len(b):
        n, k = struct.unpack(">I4s", b[i:i + 8])
        d = b[i + 8:i + 8 + n]
        i += 12 + n
        if k == b"IHDR":
            w, hh, depth, ct = struct.unpack(">IIBB", d[:10])
        if k == b"IDAT":
            idat += d
    assert depth == 8 and ct == 0, "grey 8-bit PNGs only"
    raw = zlib.decompress(idat)
    rows, prev = [], bytes(w)
    for y in range(hh):
        f = raw[y * (w + 1)]
        line = bytearray(raw[y * (w + 1) + 1:(y + 1) * (w + 1)])
        for x in range(w):
            a = line[x - 1] if x else 0
            up = prev[x]
            c = prev[x - 1] if x else 0
            p = a + up - c
            pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
            pr = a if pa <= pb and pa <= pc else up if pb <= pc else c
            line[x] = (line[x] + [0, a, up, (a + up) // 2, pr][f]) & 255
        rows.append(bytes(line))
        prev = bytes(line)
    return w, hh, b"".join(rows)


w, hh, pix = png_pixels(png)
req3 = {"parameters": params,
        "inputs": [{"name": "image", "datatype": "UINT8", "shape": [hh, w, 1], "data": list(pix)}]}
code, h, doc = infer_json(MODEL, req3)
check("infer UINT8 200", code == 200, (code, doc))
s3 = outputs_by_name(doc or {}).get("score", {}).get("data", [None])[0]
check("same score UINT8/PNG", s3 == score_json, (s3, score_json))
# UINT8 in binary
head = {"parameters": params, "inputs": [{"name": "image", "datatype": "UINT8",
                                          "shape": [1, hh, w, 1],
                                          "parameters": {"binary_data_size": len(pix)}}]}
hj = json.dumps(head).encode()
code, h, body = call("POST", f"/v2/models/{MODEL}/infer", hj + pix,
                     {"Inference-Header-Content-Length": str(len(hj))})
check("infer UINT8 binary 200", code == 200, (code, body[:200]))

# ---- refusals: 400 with the v2 error body ----
def refused(what, doc, want=400, raw=None, headers=None):
    if raw is None:
        code, _, d = infer_json(MODEL, doc)
    else:
        code, _, b = call("POST", f"/v2/models/{MODEL}/infer", raw, headers or {})
        try:
            d = json.loads(b)
        except ValueError:
            d = None
    check(f"{what} -> {want}", code == want and is_v2_error(d), (code, d))


img = {"name": "image", "datatype": "BYTES", "shape": [1], "data": [b64]}
refused("wrong datatype", {"inputs": [dict(img, datatype="FP32")]})
refused("wrong shape (rank 2 BYTES)", {"inputs": [dict(img, shape=[1, 1])]})
refused("shape and data disagree", {"inputs": [dict(img, shape=[2])]})
refused("negative dimension", {"inputs": [dict(img, shape=[-1])]})
refused("UINT8 size mismatch", {"inputs": [{"name": "image", "datatype": "UINT8",
                                             "shape": [2, 2, 1], "data": [1, 2, 3]}]})
refused("UINT8 value out of range", {"inputs": [{"name": "image", "datatype": "UINT8",
                                                  "shape": [1, 1, 1], "data": [300]}]})
refused("wrong input name", {"inputs": [dict(img, name="picture")]})
refused("no inputs", {"inputs": []})
refused("unknown output", {"inputs": [img], "outputs": [{"name": "nonsense"}]})
refused("not base64", {"inputs": [dict(img, data=["@@@@"])]})
refused("not a PNG", {"inputs": [dict(img, data=[base64.b64encode(b"hello").decode()])]})
refused("bad parameter", {"inputs": [img], "parameters": {"iterations": -1}})
refused("bad part_id", {"inputs": [img], "parameters": {"part_id": "a/b"}})
refused("not JSON", None, raw=b"{not json", headers={"Content-Type": "application/json"})
hj = json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                             "parameters": {"binary_data_size": 10}}]}).encode()
refused("header longer than the body", None, raw=hj,
        headers={"Inference-Header-Content-Length": str(len(hj) + 5)})
refused("header not a number", None, raw=hj, headers={"Inference-Header-Content-Length": "x"})
refused("binary_data_size past the end", None, raw=hj + b"\0\0",
        headers={"Inference-Header-Content-Length": str(len(hj))})
code, _, d = infer_json("no-such-model", {"inputs": [img]})
check("unknown model infer 404", code == 404 and is_v2_error(d), (code, d))
code, _, b = call("GET", f"/v2/models/{MODEL}/infer")
check("GET infer 405", code == 405, code)

# ---- GCN ----
if GCN:
    code, meta = get_json(f"/v2/models/{GCN}")
    check("gcn metadata", code == 200 and meta["inputs"][0]["datatype"] == "INT64", meta)
    code, _, doc = infer_json(GCN, {"inputs": [{"name": "nodes", "datatype": "INT64",
                                                "shape": [3], "data": [0, 1, 2]}]})
    o = outputs_by_name(doc or {})
    check("gcn infer", code == 200 and o.get("class", {}).get("shape") == [3] and
          len(o.get("probabilities", {}).get("data", [])) == 3 *
          o.get("probabilities", {}).get("shape", [0, 0])[1], (code, doc))
    code, _, doc = infer_json(GCN, {"inputs": [{"name": "nodes", "datatype": "FP32",
                                                "shape": [1], "data": [0]}]})
    check("gcn wrong datatype 400", code == 400 and is_v2_error(doc), (code, doc))
    code, _, doc = infer_json(GCN, {"inputs": [{"name": "nodes", "datatype": "INT64",
                                                "shape": [1], "data": [10 ** 9]}]})
    check("gcn unknown node 400", code == 400 and is_v2_error(doc), (code, doc))

print(f"v2_conformance: {CHECKS} checks, {len(FAILS)} failed")
sys.exit(1 if FAILS else 0)
