#!/usr/bin/env bash
# Build the Java suites offline (setup.sh filled ~/.m2 with the pinned artifacts) and print
# nothing unless the build fails. run.sh then starts
#   java -cp target/classes:$(cat target/classpath.txt) respub.clients.Main SUITE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v java >/dev/null || { echo "java missing: install a JDK >= 17 (tests/clients/setup.sh)" >&2; exit 1; }
command -v mvn >/dev/null || { echo "mvn missing: run tests/clients/setup.sh" >&2; exit 1; }
log=$(mktemp "${TMPDIR:-/tmp}/java-clients-build.XXXXXX")
trap 'rm -f "$log"' EXIT
if ! (cd "$here" && nice mvn -o -q -B -Dstyle.color=never package) >"$log" 2>&1; then
    cat "$log" >&2
    echo "java/build.sh: offline Maven build failed (run tests/clients/setup.sh once online)" >&2
    exit 1
fi
