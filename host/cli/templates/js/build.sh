#!/usr/bin/env bash
# Build {{name}}.wasm with componentize-js 0.23.0: $COMPONENTIZE_JS, else
# componentize-js on PATH, else the one vitals' scripts/install-deps installs
# (in ${XDG_CACHE_HOME:-~/.cache}/vitals-tools/node).
set -euo pipefail
cd "$(dirname "$0")"
tools="${XDG_CACHE_HOME:-$HOME/.cache}/vitals-tools"
componentize_js="$(command -v "${COMPONENTIZE_JS:-componentize-js}" || echo "$tools/node/node_modules/.bin/componentize-js")"
[ -z "${COMPONENTIZE_JS:-}" ] || componentize_js="$(command -v "$COMPONENTIZE_JS" || true)"
if [ ! -x "$componentize_js" ]; then
    echo "build.sh: componentize-js not found:" >&2
    echo "  npm install @bytecodealliance/componentize-js@0.23.0 @bytecodealliance/preview2-shim@0.25.0" >&2
    echo "  (or run vitals' scripts/install-deps, or set COMPONENTIZE_JS)" >&2
    exit 1
fi
"$componentize_js" app.js --wit wit --world-name check -d fetch-event -o {{name}}.wasm
