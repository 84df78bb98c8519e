#!/usr/bin/env bash
# Run the client compatibility suites against one server.
#
#   tests/clients/run.sh [--server respub|redis] [--bin PATH] [--only NAME[,NAME...]]
#
# Starts the server itself on a free 127.0.0.1 port, runs redis-py, ioredis, node-redis,
# redigo, go-redis, rueidis, jedis, lettuce, spring-data-redis and redis-cli against it
# (each under a time limit), prints every suite's `NAME: N passed, M failed` line and,
# last, `clients: N passed, M failed`.
# Exits non-zero if any check failed or any suite could not run; a missing tool is a
# failure, never a skip. Only the servers it started are stopped, by PID, on every exit.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

server=respub bin= only= suite_timeout=${CLIENTS_SUITE_TIMEOUT:-300}
while (($#)); do
    case "$1" in
    --server) server=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
case "$server" in
redis) bin=${bin:-$(command -v redis-server || true)} ;;
respub) bin=${bin:-$repo/target/release/respub} ;;
*) echo "run.sh: --server must be respub or redis" >&2; exit 2 ;;
esac
if [[ -z "$bin" || ! -x "$bin" ]]; then
    echo "run.sh: server binary '${bin:-redis-server}' not found or not executable" >&2
    echo "clients: 0 passed, 1 failed"
    exit 1
fi

# Absolute but not symlink-resolved: Debian's redis-server is a symlink to
# redis-check-rdb, and the binary picks its role from the name it was started as.
[[ "$bin" == /* ]] || bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
export CLIENTS_SERVER=$server CLIENTS_BIN=$bin
export CLIENTS_STATE=$(mktemp -d "${TMPDIR:-/tmp}/respub-clients.XXXXXX")
export CLIENTS_CTL="$here/server.sh"
cleanup() {
    "$CLIENTS_CTL" stopall >/dev/null 2>&1 || true
    rm -rf "$CLIENTS_STATE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# TLS (issue 7): certificates made now, for this run only; the server also listens on a
# TLS port (CLIENTS_TLS_PORT) trusting CLIENTS_TLS_DIR/ca.crt for optional client certs.
export CLIENTS_TLS_DIR="$CLIENTS_STATE/tls"
if ! "$here/tls-certs.sh" "$CLIENTS_TLS_DIR"; then
    echo "run.sh: could not make the TLS test certificates" >&2
    echo "clients: 0 passed, 1 failed"
    exit 1
fi

if ! CLIENTS_PORT=$("$CLIENTS_CTL" start main); then
    echo "run.sh: could not start $server ($CLIENTS_BIN)" >&2
    echo "clients: 0 passed, 1 failed"
    exit 1
fi
export CLIENTS_HOST=127.0.0.1 CLIENTS_PORT CLIENTS_SOCKET="$CLIENTS_STATE/main.sock"
export CLIENTS_TLS_PORT=$(cat "$CLIENTS_STATE/main.tlsport")
echo "run.sh: $server ($CLIENTS_BIN) on 127.0.0.1:$CLIENTS_PORT, TLS on :$CLIENTS_TLS_PORT"

total_pass=0 total_fail=0 summary=()

# run_suite NAME COMMAND...: the suite's own last `NAME: N passed, M failed` line is the
# verdict; a suite that dies, times out or prints no such line counts as one failure more.
run_suite() {
    local name=$1; shift
    if [[ -n "$only" && ",$only," != *",$name,"* ]]; then return; fi
    local log="$CLIENTS_STATE/suite-$name.out" rc line p f
    echo "=== $name"
    timeout -k 10 "$suite_timeout" "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed$" "$log" | tail -n 1)
    if [[ -z "$line" ]]; then
        [[ $rc == 124 ]] && echo "run.sh: $name timed out after ${suite_timeout}s" >&2
        echo "run.sh: $name did not report a result (exit $rc)" >&2
        p=0 f=1
    else
        p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
        f=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$line")
        if [[ $rc != 0 && $f == 0 ]]; then
            echo "run.sh: $name exited $rc despite reporting no failure" >&2
            f=1
        fi
    fi
    total_pass=$((total_pass + p)) total_fail=$((total_fail + f))
    summary+=("$name: $p passed, $f failed")
    # A suite must leave the shared server running; bring it back if it did not.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$CLIENTS_PORT") 2>/dev/null; then
        echo "run.sh: server on :$CLIENTS_PORT is gone after $name; restarting it" >&2
        "$CLIENTS_CTL" restart main >/dev/null || true
    fi
}


py="$here/python/.venv/bin/python"
run_suite redis-py bash -c 'need() { [[ -x "$1" ]] || { echo "missing $1: run tests/clients/setup.sh" >&2; exit 1; }; }; need "$0" && exec "$0" "$1"' \
    "$py" "$here/python/test_redis_py.py"
run_suite ioredis bash -c '[[ -d "$0/node_modules/ioredis" ]] || { echo "missing node_modules: run tests/clients/setup.sh" >&2; exit 1; }; exec node "$0/ioredis.test.mjs"' "$here/node"
run_suite node-redis bash -c '[[ -d "$0/node_modules/redis" ]] || { echo "missing node_modules: run tests/clients/setup.sh" >&2; exit 1; }; exec node "$0/node-redis.test.mjs"' "$here/node"
# Socket.IO scaled out with @socket.io/redis-adapter (classic and sharded) over this server.
run_suite socket.io bash -c '[[ -d "$0/node_modules/socket.io" && -d "$0/node_modules/@socket.io/redis-adapter" ]] || { echo "missing node_modules: run tests/clients/setup.sh" >&2; exit 1; }; exec node "$0/socketio.test.mjs"' "$here/node"
run_suite redigo bash -c '"$0/build.sh" redigo && exec "$0/bin/redigo-suite"' "$here/go"
run_suite go-redis bash -c '"$0/build.sh" go-redis && exec "$0/bin/go-redis-suite"' "$here/go"
run_suite rueidis bash -c '"$0/build.sh" rueidis && exec "$0/bin/rueidis-suite"' "$here/go"
# Java: one Maven build (java/build.sh, offline) serves the three suites.
java_suite() {
    run_suite "$1" bash -c '"$0/build.sh" && exec java -cp "$0/target/classes:$(cat "$0/target/classpath.txt")" respub.clients.Main "$1"' \
        "$here/java" "$1"
}
java_suite jedis
java_suite lettuce
java_suite spring-data-redis
run_suite redis-cli bash -c 'command -v redis-cli >/dev/null || { echo "redis-cli missing: run tests/clients/setup.sh" >&2; exit 1; }; exec python3 "$0/test_redis_cli.py"' "$here/cli"

# Python framework suites (each in its own pinned venv made by setup.sh; see README).
pyfw() { # pyfw SUITE VENV SCRIPT
    run_suite "$1" bash -c '[[ -x "$0" ]] || { echo "missing $0: run tests/clients/setup.sh" >&2; exit 1; }; exec "$0" "$1"' \
        "$here/python/$2/bin/python" "$here/python/$3"
}
pyfw channels-redis .venv-frameworks test_channels.py
pyfw broadcaster .venv-rp7 test_broadcaster.py
pyfw fastapi-style .venv-frameworks test_fastapi_style.py

echo "=== summary ($server)"
for l in "${summary[@]}"; do echo "$l"; done
if ((${#summary[@]} == 0)); then total_fail=$((total_fail + 1)); echo "run.sh: no suite selected" >&2; fi
echo "clients: $total_pass passed, $total_fail failed"
((total_fail == 0))
