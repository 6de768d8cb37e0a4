#!/usr/bin/env bash
# Build {{name}}.wasm with componentize-js
# (npm install @bytecodealliance/componentize-js@0.23.0 @bytecodealliance/preview2-shim@0.25.0).
set -euo pipefail
cd "$(dirname "$0")"
"${COMPONENTIZE_JS:-componentize-js}" app.js --wit wit --world-name check -d fetch-event -o {{name}}.wasm
