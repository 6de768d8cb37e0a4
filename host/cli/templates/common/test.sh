#!/usr/bin/env bash
# Build the plugin, then run it offline against every cassette in cassettes/: the
# host answers its calls from them, so no server is needed, and each must end
# with the status and findings it recorded. Record your own with
#   vitals run --config DIR --check CHECK --record cassettes/
# and delete the example ones this project started with. (A cassette of a run
# that ended without a report records no status: test it by hand with
# `vitals test ... --expect STATUS`.)
set -euo pipefail
cd "$(dirname "$0")"
VITALS="${VITALS:-vitals}"
./build.sh
shopt -s nullglob
cassettes=(cassettes/*.json)
if [ ${#cassettes[@]} -eq 0 ]; then
    echo "test.sh: no cassettes in cassettes/" >&2
    exit 1
fi
for cassette in "${cassettes[@]}"; do
    "$VITALS" test {{name}}.wasm --cassette "$cassette" --same-findings
done
