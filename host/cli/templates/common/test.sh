#!/usr/bin/env bash
# Build the plugin, then run it offline against the recorded cassettes: the host
# answers its calls from them, so no server is needed.
set -euo pipefail
cd "$(dirname "$0")"
VITALS="${VITALS:-vitals}"
./build.sh
"$VITALS" test {{name}}.wasm --cassette cassettes/healthy.json --expect ok --same-findings
"$VITALS" test {{name}}.wasm --cassette cassettes/down.json --expect critical --same-findings
