#!/usr/bin/env bash
# Start, stop and restart named server instances for the client suites.
#
# One script serves both servers so every suite runs unchanged against redis-server
# and respub: they take the same flags, redis-server only needs persistence turned off.
#
#   server.sh start NAME [PORT|auto] [PASSWORD]   -> prints the port
#   server.sh stop NAME
#   server.sh restart NAME        same port, same password; waits until it accepts again
#   server.sh port NAME
#   server.sh stopall             every instance in CLIENTS_STATE (run.sh's trap calls this)
#
# Environment (run.sh exports it): CLIENTS_SERVER=redis|respub, CLIENTS_BIN=/path/to/binary,
# CLIENTS_STATE=directory holding NAME.pid / NAME.port / NAME.pass / NAME.log and the
# instance's Unix socket NAME.sock; CLIENTS_TLS_DIR=certificates (tls-certs.sh), when set
# every instance also serves TLS on the port in NAME.tlsport.
# Only processes whose PID is recorded here are ever signalled, and only after checking
# that the PID still runs our binary (PIDs get reused).
set -euo pipefail

: "${CLIENTS_SERVER:?set CLIENTS_SERVER=redis|respub}"
: "${CLIENTS_BIN:?set CLIENTS_BIN to the server binary}"
: "${CLIENTS_STATE:?set CLIENTS_STATE to a state directory}"
mkdir -p "$CLIENTS_STATE"

die() { echo "server.sh: $*" >&2; exit 1; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Bounded poll: the server is up when a TCP connect to the port succeeds.
wait_listening() {
    local port=$1 pid=$2 i
    for i in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

wait_closed() {
    local port=$1 i
    for i in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 0
        sleep 0.05
    done
    return 1
}

ours() { # PID still alive and still our server binary?
    local pid=$1
    [[ -r /proc/$pid/exe ]] || return 1
    [[ "$(readlink -f "/proc/$pid/exe")" == "$(readlink -f "$CLIENTS_BIN")" ]]
}

launch() {
    local name=$1 port=$2 pass=$3
    # Every instance also listens on a Unix socket, NAME.sock (suites that test
    # `unix_socket_path=` and the like connect there).
    local args=(--port "$port" --bind 127.0.0.1 --unixsocket "$CLIENTS_STATE/$name.sock"
        --save '' --appendonly no --loglevel warning)
    [[ -n "$pass" ]] && args+=(--requirepass "$pass")
    # TLS (issue 7): with CLIENTS_TLS_DIR (run.sh makes it with tls-certs.sh) every
    # instance also listens on a TLS port, NAME.tlsport, kept across restarts. Client
    # certificates are optional, so suites check both one-way and mutual TLS.
    local tlsport=
    if [[ -n "${CLIENTS_TLS_DIR:-}" ]]; then
        tlsport=$(cat "$CLIENTS_STATE/$name.tlsport" 2>/dev/null || free_port)
        echo "$tlsport" >"$CLIENTS_STATE/$name.tlsport"
        args+=(--tls-port "$tlsport" --tls-cert-file "$CLIENTS_TLS_DIR/server.crt"
            --tls-key-file "$CLIENTS_TLS_DIR/server.key" --tls-ca-cert-file "$CLIENTS_TLS_DIR/ca.crt"
            --tls-auth-clients optional)
    fi
    if [[ "$CLIENTS_SERVER" == redis ]]; then
        args+=(--daemonize no --dir "$CLIENTS_STATE")
    fi
    "$CLIENTS_BIN" "${args[@]}" >>"$CLIENTS_STATE/$name.log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$CLIENTS_STATE/$name.pid"
    echo "$port" >"$CLIENTS_STATE/$name.port"
    printf '%s' "$pass" >"$CLIENTS_STATE/$name.pass"
    if ! wait_listening "$port" "$pid" || { [[ -n "$tlsport" ]] && ! wait_listening "$tlsport" "$pid"; }; then
        echo "server.sh: $name did not listen on 127.0.0.1:$port; log:" >&2
        tail -n 20 "$CLIENTS_STATE/$name.log" >&2 || true
        stop "$name"
        exit 1
    fi
}

stop() {
    local name=$1 pidf="$CLIENTS_STATE/$1.pid" pid i
    [[ -f "$pidf" ]] || return 0
    pid=$(cat "$pidf")
    if ours "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 100); do ours "$pid" || break; sleep 0.05; done
        if ours "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
        for i in $(seq 1 40); do ours "$pid" || break; sleep 0.05; done
    fi
    rm -f "$pidf"
    if [[ -f "$CLIENTS_STATE/$name.port" ]]; then
        wait_closed "$(cat "$CLIENTS_STATE/$name.port")" || true
    fi
}

cmd=${1:-}; shift || true
case "$cmd" in
start)
    name=${1:?name}; port=${2:-auto}; pass=${3:-}
    [[ -f "$CLIENTS_STATE/$name.pid" ]] && ours "$(cat "$CLIENTS_STATE/$name.pid")" && die "$name already running"
    [[ "$port" == auto ]] && port=$(free_port)
    launch "$name" "$port" "$pass"
    echo "$port"
    ;;
stop)
    stop "${1:?name}"
    ;;
restart)
    name=${1:?name}
    [[ -f "$CLIENTS_STATE/$name.port" ]] || die "$name was never started"
    port=$(cat "$CLIENTS_STATE/$name.port"); pass=$(cat "$CLIENTS_STATE/$name.pass")
    stop "$name"
    launch "$name" "$port" "$pass"
    echo "$port"
    ;;
port)
    cat "$CLIENTS_STATE/${1:?name}.port"
    ;;
stopall)
    shopt -s nullglob
    for f in "$CLIENTS_STATE"/*.pid; do n=$(basename "$f" .pid); stop "$n"; done
    ;;
*)
    die "usage: server.sh start NAME [PORT|auto] [PASSWORD] | stop NAME | restart NAME | port NAME | stopall"
    ;;
esac
