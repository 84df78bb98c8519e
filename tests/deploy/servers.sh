# shellcheck shell=bash disable=SC2154,SC2016,SC2034
# (variables come from run.sh and are used by the parts; single-quoted scripts expand in the child)
# Sourced by run.sh before the parts: starting the entrypoint on a real server.
#
# The image's layout is rebuilt in a folder put first on PATH: `respub` and a
# `redis-server` symlink to it. The same runs are made with Debian's real redis-server
# standing in for respub, which proves the argv the entrypoint builds is what Redis itself
# accepts. Each run binds 127.0.0.1 on a free port; the server is stopped by its PID
# (the entrypoint and setpriv exec, so the PID started is the server's).

ep=$repo/docker/docker-entrypoint.sh
redis_bin=$(command -v redis-server)
app_python=$venv/bin/python
app=$repo/deploy/example-app/app.py
pass_word=s3cret-word

# layout_for SERVER: a PATH folder where `respub` and `redis-server` are SERVER's binary.
layout_for() {
    local dir=$work/layout-$1 target
    [[ $1 == respub ]] && target=$bin || target=$redis_bin
    mkdir -p "$dir"
    ln -sf "$target" "$dir/respub"
    ln -sf "$target" "$dir/redis-server"
    echo "$dir"
}

proc_field() { # proc_field PID FIELD -> the first value of FIELD in /proc/PID/status
    sed -n "s/^$2:[[:space:]]*\([^[:space:]]*\).*/\1/p" "/proc/$1/status" 2>/dev/null
}

# start_ep SERVER WORKDIR AS_USER ARG...: starts the entrypoint in WORKDIR as AS_USER
# (root, or UID:GID through setpriv, as `docker run --user` would) and sets $ep_pid/$ep_log.
start_ep() {
    local server=$1 dir=$2 as=$3 layout
    shift 3
    layout=$(layout_for "$server")
    ep_log=$work/ep-$server-$RANDOM.log
    local run=(env -i PATH="$layout:/usr/bin:/bin" /bin/sh -c 'umask 0022; exec "$0" "$@"' "$ep" "$@")
    if [[ $as != root ]]; then
        run=(setpriv --reuid="${as%:*}" --regid="${as#*:}" --clear-groups -- "${run[@]}")
    fi
    (cd "$dir" && exec "${run[@]}") >"$ep_log" 2>&1 &
    ep_pid=$!
    started_pids+=("$ep_pid")
}

