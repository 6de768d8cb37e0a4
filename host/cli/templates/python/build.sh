#!/usr/bin/env bash
# Build {{name}}.wasm with componentize-py 0.25.1: $COMPONENTIZE_PY, else
# componentize-py on PATH, else the one vitals' scripts/install-deps installs
# (in ${XDG_CACHE_HOME:-~/.cache}/vitals-tools/venv).
set -euo pipefail
cd "$(dirname "$0")"
tools="${XDG_CACHE_HOME:-$HOME/.cache}/vitals-tools"
componentize_py="$(command -v "${COMPONENTIZE_PY:-componentize-py}" || echo "$tools/venv/bin/componentize-py")"
[ -z "${COMPONENTIZE_PY:-}" ] || componentize_py="$(command -v "$COMPONENTIZE_PY" || true)"
if [ ! -x "$componentize_py" ]; then
    echo "build.sh: componentize-py not found: pip install componentize-py==0.25.1" >&2
    echo "  (or run vitals' scripts/install-deps, or set COMPONENTIZE_PY)" >&2
    exit 1
fi
PYTHONDONTWRITEBYTECODE=1 "$componentize_py" -d wit -w check \
    componentize app -p . -p sdk -o {{name}}.wasm
