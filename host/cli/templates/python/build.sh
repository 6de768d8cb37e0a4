#!/usr/bin/env bash
# Build {{name}}.wasm with componentize-py (pip install componentize-py==0.25.1).
set -euo pipefail
cd "$(dirname "$0")"
PYTHONDONTWRITEBYTECODE=1 "${COMPONENTIZE_PY:-componentize-py}" -d wit -w check \
    componentize app -p . -p sdk -o {{name}}.wasm
