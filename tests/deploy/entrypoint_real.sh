# shellcheck shell=bash disable=SC2154,SC2016
# (variables come from run.sh; the single-quoted sh -c scripts expand in the child)
# Part 2 (sourced by run.sh): the entrypoint starting real respub and, as the reference,
# real redis-server (servers.sh), as root and as `--user 1000:1000`, with flags and with a
# redis.conf, and what a container relies on once it runs.

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

# A container is reached through its own network interface, never its loopback: with no
# bind directive the server must listen on every interface, as redis-server does (the
# official image relies on that; `docker run redis` has no --bind). Listening only: no
# traffic goes anywhere but 127.0.0.1, and the server has a password and lives ~1 s.
listen_addrs() { # listen_addrs PORT -> the sorted local addresses listening on PORT
    ss -Hltn "sport = :$1" | awk '{print $4}' | sort | tr '\n' ' '
}
for server in respub redis; do
    port=$(free_port)
    mkdir -p "$work/bind-$server"
    start_ep "$server" "$work/bind-$server" 1000:1000 redis-server --port "$port" --requirepass "$pass_word"
    tag="real $server, no --bind"
    if REDISCLI_AUTH=$pass_word wait_ping "$port" "$ep_pid"; then
        addrs=$(listen_addrs "$port")
        if [[ " $addrs" == *" 0.0.0.0:$port "* || " $addrs" == *" *:$port "* ]]; then
            pass "$tag: listens on all interfaces, like redis-server ($addrs)"
        else
            fail "$tag: listens on all interfaces, like redis-server" "listening: $addrs" \
                "(a container started without --bind would be unreachable from other containers)"
        fi
    else
        fail "$tag: starts" "$(tail -n 20 "$ep_log")"
    fi
    stop_pid "$ep_pid"
done
