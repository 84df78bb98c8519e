#!/usr/bin/env bash
# The browser end-to-end check (issue 12): respub's demo page in Debian's headless
# Chromium, driven by the pinned playwright-core (tests/clients/setup.sh installs both).
# Usage: tests/browser/run.sh [--bin path/to/respub]
# Last line: "browser: N passed, M failed"; the screenshot path is printed above it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/../../target/release/respub"
if [[ ${1:-} == --bin ]]; then
    bin=$2
fi
[[ -x /usr/bin/chromium ]] || { echo "browser: /usr/bin/chromium missing (run tests/clients/setup.sh)"; echo "browser: 0 passed, 1 failed"; exit 1; }
[[ -d "$here/node_modules/playwright-core" ]] || { echo "browser: playwright-core missing (run tests/clients/setup.sh)"; echo "browser: 0 passed, 1 failed"; exit 1; }
[[ -x $bin ]] || { echo "browser: $bin is not an executable (cargo build --release)"; echo "browser: 0 passed, 1 failed"; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
cd "$here"
exec node demo.test.mjs --bin "$bin"
