# shellcheck shell=bash
# Shared by the tests/deploy parts (sourced by run.sh): counters and check helpers.
# Every check prints `ok NAME` or `FAIL NAME` plus what it saw, and counts.

deploy_pass=0
deploy_fail=0

pass() {
    deploy_pass=$((deploy_pass + 1))
    echo "ok   $1"
}

fail() {
    deploy_fail=$((deploy_fail + 1))
    echo "FAIL $1"
    shift
    local line
    for line in "$@"; do printf '     %s\n' "$line"; done
}

# expect_eq NAME GOT WANT
expect_eq() {
    if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1" "want: $3" "got:  $2"; fi
}

# expect_cmd NAME COMMAND...: passes when COMMAND exits 0; its output is shown on failure.
expect_cmd() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "command: $*" "$out"; fi
}

# expect_fails NAME COMMAND...: passes when COMMAND exits non-zero (a check that must bite).
expect_fails() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then fail "$name" "command unexpectedly succeeded: $*" "$out"; else pass "$name"; fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_ping PORT PID: bounded wait (10 s) until `redis-cli -p PORT ping` answers PONG,
# with REDISCLI_AUTH from the environment if set. Fails early if PID died.
wait_ping() {
    local port=$1 pid=$2
    for _ in $(seq 1 200); do
        [[ "$(redis-cli -p "$port" ping 2>/dev/null)" == PONG ]] && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# stop_pid PID: SIGTERM, bounded wait, then SIGKILL. Only PIDs this suite started.
stop_pid() {
    local pid=$1
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# expect_fails_with NAME PATTERN COMMAND...: COMMAND must fail, saying PATTERN (so a check
# that bites does so for the reason it is meant to).
expect_fails_with() {
    local name=$1 pattern=$2 out
    shift 2
    if out=$("$@" 2>&1); then
        fail "$name" "command unexpectedly succeeded: $*" "$out"
    elif [[ $out != *"$pattern"* ]]; then
        fail "$name" "failed, but without '$pattern':" "$out"
    else
        pass "$name"
    fi
}
