#!/usr/bin/env bash
# Build {{name}}.wasm with componentize-py 0.25.1: $COMPONENTIZE_PY, else
# componentize-py on PATH, else the one vitals' scripts/install-deps installs
# (in ${XDG_CACHE_HOME:-~/.cache}/vitals-tools/venv).
set -euo pipefail
cd "$(dirname "$0")"
tools="${XDG_CACHE_HOME:-$HOME/.cache}/vitals-tools"
componentize_py="${COMPONENTIZE_PY:-$(command -v componentize-py || echo "$tools/venv/bin/componentize-py")}"
if [ ! -x "$componentize_py" ]; then
    echo "build.sh: componentize-py not found: pip install componentize-py==0.25.1" >&2
    echo "  (or run vitals' scripts/install-deps, or set COMPONENTIZE_PY)" >&2
    exit 1
fi
PYTHONDONTWRITEBYTECODE=1 "$componentize_py" -d wit -w check \
    componentize app -p . -p sdk -o {{name}}.wasm
