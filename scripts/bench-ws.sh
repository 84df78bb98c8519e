#!/usr/bin/env bash
# Browser fan-out figures (issue 12): deliveries/s to 1,000 and 10,000 WebSocket
# subscribers on one channel, with the RESP fan-out to as many subscribers beside them.
# One respub (release build) on free loopback ports, flow-controlled publishers
# (respub-bench's window), server CPU-seconds read from /proc/PID.
# Usage: scripts/bench-ws.sh [--duration S] [--warmup S]   (needs cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/respub
bench=target/release/respub-bench
[[ -x $bin && -x $bench ]] || { echo "bench-ws: run cargo build --release first" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
admin=$(free_port)
ulimit -n 65536 2>/dev/null || true
"$bin" --port "$port" --bind 127.0.0.1 --admin-port "$admin" --admin-bind 127.0.0.1 \
    --maxclients 30000 --http-max-clients 30000 --loglevel warning \
    --client-output-buffer-limit "pubsub 32mb 8mb 60" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    redis-cli -p "$port" PING >/dev/null 2>&1 && break
    sleep 0.1
done
for scenario in fanout-1000 ws-fanout-1000 fanout-10000 ws-fanout-10000; do
    "$bench" run --addr "127.0.0.1:$port" --ws-addr "127.0.0.1:$admin" --server-pid "$pid" \
        --scenario "$scenario" "$@"
done
