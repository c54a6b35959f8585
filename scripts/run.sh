#!/usr/bin/env bash
# Builds inspectd (installing its Debian packages when missing) and starts the daemon on the
# shipped default models (models/). Extra arguments go to `inspectd serve` (e.g. --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target inspectd
# the shipped GCN answers node queries on Cora when the shared data sets sit beside the checkout
graph=()
[ -f ../shared/datasets/cora/edges.tsv ] && graph=(--graph ../shared/datasets/cora)
exec ./build/inspectd serve --models models "${graph[@]}" "$@"
