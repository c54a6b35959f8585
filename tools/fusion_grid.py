#!/usr/bin/env python3
"""fusion_grid: how the fused score would rank with other weights, from the per-image score CSVs
that `inspectd eval anogan --scores` and `inspectd eval oneclass --scores` write.

    tools/fusion_grid.py [--grid 0,1] [--top 10] CSV[=MODEL] ...

Each part is standardised as the model does: with mean and std from MODEL's metadata
(fusion.<part>.mean|std) when given, else from the CSV's held-out normal rows (split column
"ho" in the CSVs of eval oneclass). Prints the AUROC of every part and of the fused score per CSV
for the equal weights, then the weight vectors with the best mean AUROC and the best worst-case
AUROC over all CSVs. Standard library only."""
import argparse, csv, itertools, json, math, struct, sys

PARTS = ["anogan", "transform", "knn", "knn_pixels", "knn_transform"]


def auroc(scores, labels):
    pairs = sorted(zip(scores, labels))
    rank, i, pos, neg, ssum = 0, 0, 0, 0, 0.0
    while i < len(pairs):
        j = i
        while j + 1 < len(pairs) and pairs[j + 1][0] == pairs[i][0]:
            j += 1
        r = (i + j) / 2 + 1
        for k in range(i, j + 1):
            if pairs[k][1]:
                ssum += r
                pos += 1
            else:
                neg += 1
        i = j + 1
    return (ssum - pos * (pos + 1) / 2) / (pos * neg)


def model_stats(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        meta = json.loads(f.read(n)).get("__metadata__", {})
    return {p: (float(meta[f"fusion.{p}.mean"]), float(meta[f"fusion.{p}.std"]))
            for p in PARTS if f"fusion.{p}.mean" in meta}


def load(spec):
    path, _, model = spec.partition("=")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    # eval oneclass: split ho (held-out normals) / te (test), label 1 = anomalous;
    # eval anogan: test images only, column anomalous
    held = [r for r in rows if r.get("split") == "ho"]
    test = [r for r in rows if r.get("split", "te") == "te"]
    parts = [p for p in PARTS if p in rows[0] and rows[0][p] not in ("", "nan")]
    if model:
        stats = model_stats(model)
    else:
        stats = {}
        for p in parts:
            v = [float(r[p]) for r in held]
            m = sum(v) / len(v)
            stats[p] = (m, math.sqrt(sum((x - m) ** 2 for x in v) / max(len(v) - 1, 1)) or 1.0)
    parts = [p for p in parts if p in stats]
    z = {p: [(float(r[p]) - stats[p][0]) / stats[p][1] for r in test] for p in parts}
    y = [r.get("anomalous", r.get("label")) == "1" for r in test]
    return path, parts, z, y


def fused_auroc(d, w):
    _, parts, z, y = d
    s = [sum(w.get(p, 0) * z[p][i] for p in parts) for i in range(len(y))]
    return auroc(s, y)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv", nargs="+")
    ap.add_argument("--grid", default="0,1", help="weights tried for every part")
    ap.add_argument("--top", type=int, default=5)
    a = ap.parse_args()
    data = [load(s) for s in a.csv]
    equal = {p: 1.0 for p in PARTS}
    for d in data:
        _, parts, z, y = d
        one = " ".join(f"{p} {auroc(z[p], y):.4f}" for p in parts)
        print(f"{d[0]}: {len(y)} images; fused(equal) {fused_auroc(d, equal):.4f}; {one}")
    grid = [float(g) for g in a.grid.split(",")]
    results = []
    for ws in itertools.product(grid, repeat=len(PARTS)):
        if not any(ws):
            continue
        w = dict(zip(PARTS, ws))
        au = [fused_auroc(d, w) for d in data]
        results.append((sum(au) / len(au), min(au), ws, au))
    for title, key in (("best mean", lambda r: r[0]), ("best worst case", lambda r: r[1])):
        print(f"{title} AUROC over {len(data)} sets (weights {' '.join(PARTS)}):")
        for r in sorted(results, key=key, reverse=True)[: a.top]:
            print(f"  {' '.join(f'{x:g}' for x in r[2])}: mean {r[0]:.4f} min {r[1]:.4f}  "
                  + " ".join(f"{x:.4f}" for x in r[3]))
    eq = [r for r in results if all(x == 1 for x in r[2])]
    if eq:
        print(f"equal weights: mean {eq[0][0]:.4f} min {eq[0][1]:.4f}")


if __name__ == "__main__":
    sys.exit(main())
