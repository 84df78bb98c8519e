#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer through cargo-fuzz, on the nightly toolchain).
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]     default: 1800 s, targets decode session
# Each target runs for SECONDS from fuzz/seeds/<target> plus its growing corpus
# (fuzz/corpus/<target>, not committed). A crash, hang (>10 s per input) or memory blow-up
# (>2 GiB RSS) stops the run and leaves the input in fuzz/artifacts/<target>/: copy it to
# fuzz/regressions/<target>/ so tests/fuzz.rs replays it in every `cargo test`.
# The properties checked are in src/fuzz.rs. Prints one summary line per target.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-1800}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(decode session)
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2 --locked
status=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log="fuzz/artifacts/$t/run.log"
    echo "fuzz $t: ${seconds}s, log $log"
    if cargo +nightly fuzz run "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -artifact_prefix="fuzz/artifacts/$t/" -print_final_stats=1 >"$log" 2>&1; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        echo "fuzz $t: ok, ${execs:-?} executions in ${seconds}s, 0 crashes"
    else
        echo "fuzz $t: FAILED (crash, hang or OOM); see $log and fuzz/artifacts/$t/"
        status=1
    fi
done
exit $status
