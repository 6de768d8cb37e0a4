#!/usr/bin/env bash
# Build {{name}}.wasm from C. Needs Debian's clang for WebAssembly with wasi-libc
#   apt-get install clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32
# and, from crates.io,
#   cargo install wit-bindgen-cli@0.63.0 --no-default-features --features c
#   cargo install wasm-tools@1.263.0 --no-default-features --features component,validate
# wasi-libc speaks WASI preview1: the adapter beside this script turns its imports
# into the WASI 0.2 interfaces a component uses.
set -euo pipefail
cd "$(dirname "$0")"
CC="${CC:-clang-19}"
WIT_BINDGEN="${WIT_BINDGEN:-wit-bindgen}"
WASM_TOOLS="${WASM_TOOLS:-wasm-tools}"
WASI_ADAPTER="${WASI_ADAPTER:-wasi_snapshot_preview1.reactor.wasm}"
rm -rf gen && mkdir gen
"$WIT_BINDGEN" c wit --world check --out-dir gen >/dev/null
"$CC" --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Wno-unused-parameter \
    -I gen -I sdk -o gen/{{name}}.core.wasm \
    plugin.c sdk/vitals.c sdk/cjson/cJSON.c gen/check.c gen/check_component_type.o -Wl,--strip-debug
"$WASM_TOOLS" component new gen/{{name}}.core.wasm \
    --adapt "wasi_snapshot_preview1=$WASI_ADAPTER" -o {{name}}.wasm
echo "built {{name}}.wasm"
