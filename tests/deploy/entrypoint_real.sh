# shellcheck shell=bash disable=SC2154,SC2016
# (variables come from run.sh; the single-quoted sh -c scripts expand in the child)
# Part 1b (sourced by run.sh): the entrypoint starting real servers.
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

# real_run SERVER AS_USER LABEL ARG...: the checks every started server gets.
real_run() {
    local server=$1 as=$2 label=$3 port=$4 want_uid
    shift 4
    local data=$work/data-$server-$RANDOM
    mkdir -p "$data"
    touch "$data/left-by-someone"
    start_ep "$server" "$data" "$as" "$@"
    local tag="real $server, $label"
    if ! REDISCLI_AUTH=$pass_word wait_ping "$port" "$ep_pid"; then
        fail "$tag: redis-cli -p $port ping answers PONG" "entrypoint args: $*" "$(tail -n 20 "$ep_log")"
        stop_pid "$ep_pid"
        return
    fi
    pass "$tag: redis-cli -p $port ping answers PONG"
    local exe want
    exe=$(readlink -f "/proc/$ep_pid/exe")
    [[ $server == respub ]] && want=$(readlink -f "$bin") || want=$(readlink -f "$redis_bin")
    expect_eq "$tag: the process is the server itself (exec all the way)" "$exe" "$want"
    if [[ $as == root ]]; then want_uid=999; else want_uid=${as%:*}; fi
    expect_eq "$tag: runs as uid $want_uid" "$(proc_field "$ep_pid" Uid)/$(proc_field "$ep_pid" Gid)" \
        "$want_uid/$want_uid"
    expect_eq "$tag: no supplementary groups" "$(proc_field "$ep_pid" Groups)" ""
    expect_eq "$tag: umask 0077" "$(proc_field "$ep_pid" Umask)" 0077
    if [[ $as == root ]]; then
        expect_eq "$tag: /data was given to 999:999" \
            "$(stat -c %u:%g "$data") $(stat -c %u:%g "$data/left-by-someone")" "999:999 999:999"
    else
        expect_eq "$tag: /data left alone" "$(stat -c %u "$data/left-by-someone")" "$(id -u)"
    fi
    expect_eq "$tag: without the password, NOAUTH" "$(redis-cli -p "$port" ping 2>&1)" \
        "NOAUTH Authentication required."
    local out
    if out=$(REDIS_URL="redis://:$pass_word@127.0.0.1:$port/0" COUNT=3 INTERVAL=0 \
        timeout 20 "$app_python" "$app" 2>&1) && [[ $out == *"app: 3 messages went round"* ]]; then
        pass "$tag: the example app publishes and receives"
    else
        fail "$tag: the example app publishes and receives" "$out"
    fi
    kill -TERM "$ep_pid"
    local rc
    for _ in $(seq 1 100); do kill -0 "$ep_pid" 2>/dev/null || break; sleep 0.05; done
    wait "$ep_pid"
    rc=$?
    expect_eq "$tag: SIGTERM stops it with exit 0" "$rc" 0
}

echo "--- entrypoint with the real servers"
if [[ ! -x "$bin" ]]; then
    fail "respub binary $bin exists (build it: cargo build --release --bin respub)"
fi
if [[ $(id -u) != 0 ]]; then
    fail "the real runs need root, as in CI: the root path (chown + setpriv) is half of the entrypoint"
fi
conf_dir=$work/etc-redis
mkdir -p "$conf_dir"
for server in respub redis; do
    port=$(free_port)
    real_run "$server" 1000:1000 "--user 1000:1000, command: redis-server --requirepass" "$port" \
        redis-server --port "$port" --bind 127.0.0.1 --requirepass "$pass_word" --save '' --appendonly no
    port=$(free_port)
    real_run "$server" root "as root, command: --port (flags only)" "$port" \
        --port "$port" --bind 127.0.0.1 --requirepass "$pass_word" --save '' --appendonly no
    port=$(free_port)
    conf=$conf_dir/$server-$port.conf
    printf '# a redis.conf as users mount it\nport %s\nbind 127.0.0.1\nrequirepass %s\nsave ""\nappendonly no\n' \
        "$port" "$pass_word" >"$conf"
    chmod 644 "$conf"
    real_run "$server" root "as root, command: [redis-server, /usr/local/etc/redis/redis.conf]" "$port" \
        redis-server "$conf"
done
