#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a clean Debian 12 machine:
#   1. installs what the tests need (redis-server as the reference peer, redis-tools,
#      Go + Debian's redigo, the pinned Python and Node client libraries);
#   2. cargo test: unit tests, byte-exact transcripts, differential tests against a
#      real redis-server, limits, shutdown;
#   3. the client compatibility suites against respub, then against redis-server
#      (a check that fails against Redis is a wrong check);
#   4. the container and deployment checks (tests/deploy: the image's entrypoint on real
#      respub and redis-server, the compose file and the Kubernetes manifest validated
#      and run as far as possible without Docker, the Dockerfile replayed into a chroot,
#      hadolint, shellcheck);
#   5. the browser check (tests/browser: the demo page in headless Chromium, a screenshot
#      under target/browser/).
# Exits non-zero on any failure; nothing is skipped. The last line is the total.
set -uo pipefail
cd "$(dirname "$0")/.."
log_dir=$(mktemp -d)
failed_phases=()

phase() {
    local name=$1
    shift
    echo "=== $name: $*"
    if "$@" 2>&1 | tee "$log_dir/$name.log"; then
        echo "=== $name: ok"
    else
        echo "=== $name: FAILED"
        failed_phases+=("$name")
    fi
}

phase setup bash tests/clients/setup.sh
if [[ " ${failed_phases[*]} " == *" setup "* ]]; then
    echo "test.sh: setup failed; cannot run the suites"
    echo "all: 0 passed, 1 failed"
    exit 1
fi
command -v redis-server >/dev/null || { echo "test.sh: redis-server missing after setup"; exit 1; }

phase build cargo build --release --bins
phase cargo-test cargo test --no-fail-fast
phase clients-respub bash tests/clients/run.sh --server respub --bin target/release/respub
phase clients-redis bash tests/clients/run.sh --server redis
phase deploy bash tests/deploy/run.sh --bin target/release/respub
phase browser bash tests/browser/run.sh --bin target/release/respub

# Totals: cargo's "test result" lines plus the client suites' and deploy's closing lines.
passed=0
failed=0
while read -r p f; do
    passed=$((passed + p))
    failed=$((failed + f))
done < <(
    sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$log_dir/cargo-test.log"
    sed -n 's/^clients: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log_dir/clients-respub.log" "$log_dir/clients-redis.log"
    sed -n 's/^deploy: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log_dir/deploy.log"
    sed -n 's/^browser: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log_dir/browser.log"
)
if [[ -f "$log_dir/clients-respub.log" && -f "$log_dir/clients-redis.log" ]]; then
    echo "=== compatibility table (this run; README's table is pasted from it)"
    python3 tests/clients/table.py "$log_dir/clients-respub.log" "$log_dir/clients-redis.log" || true
fi
rm -rf "$log_dir"
if ((${#failed_phases[@]})); then
    echo "test.sh: failed phases: ${failed_phases[*]}"
    failed=$((failed > 0 ? failed : ${#failed_phases[@]}))
    echo "all: $passed passed, $failed failed"
    exit 1
fi
echo "all: $passed passed, $failed failed"
