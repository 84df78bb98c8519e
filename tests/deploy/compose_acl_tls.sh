# shellcheck shell=bash disable=SC2154,SC2016
# (variables and helpers come from run.sh, lib.sh and servers.sh)
# Part 4 (sourced by run.sh, after compose.sh): deploy/acl-tls/, the TLS-only server with
# ACL users from an aclfile that the README's "Run with TLS and ACL users" points at.
#
# The compose file is validated like deploy/docker-compose.yml. Then its redis service is
# run as Docker would run it, without Docker: its three bind mounts become one folder
# whose paths replace /usr/local/etc/redis/ in redis.conf and in the healthcheck, the TLS
# files come from tests/clients/tls-certs.sh (generated now, never committed), and the
# service's command goes through the image's entrypoint (as root, so it drops to uid 999
# as in the container). The same checks run against respub and against Debian's
# redis-server started from the same files: each user can do what users.acl says and
# nothing else, over TLS only.

acl_dir=$repo/deploy/acl-tls
compose=$acl_dir/docker-compose.yml
export DOCKER_HOST=unix://$work/no-docker-engine.sock

echo "--- acl-tls/docker-compose.yml"
expect_cmd "acl-tls: docker compose config: the file is valid" \
    docker-compose -f "$compose" config --quiet
expect_cmd "acl-tls: compose-spec JSON schema" \
    check-jsonschema --builtin-schema vendor.compose-spec "$compose"

resolved=$work/compose-acl-tls.json
if ! docker-compose -f "$compose" config --format json >"$resolved" 2>"$work/compose-acl-tls.err"; then
    fail "acl-tls: docker compose config --format json" "$(cat "$work/compose-acl-tls.err")"
fi
unset DOCKER_HOST
q() { jq -r "$1" "$resolved"; }
mount_root=/usr/local/etc/redis
expect_eq "acl-tls: the three mounts (redis.conf, users.acl, tls/) land in $mount_root" \
    "$(q '[.services.redis.volumes[] | "\(.source | ltrimstr("'"$acl_dir"'/")) \(.target) \(.read_only)"] | join(", ")')" \
    "redis.conf $mount_root/redis.conf true, users.acl $mount_root/users.acl true, tls $mount_root/tls true"
expect_eq "acl-tls: only the TLS port is published, on loopback" \
    "$(q '[.services.redis.ports[] | "\(.host_ip):\(.published)->\(.target)"] | join(",")')" "127.0.0.1:6380->6380"
expect_eq "acl-tls: the command is redis-server with the mounted redis.conf" \
    "$(q '.services.redis.command | join(" ")')" "redis-server $mount_root/redis.conf"

# The mounted tree, rebuilt: config files with the mount paths rewritten, fresh TLS files.
etc=$work/acl-tls-etc
mkdir -p "$etc"
sed "s#$mount_root/#$etc/#g" "$acl_dir/redis.conf" >"$etc/redis.conf"
cp "$acl_dir/users.acl" "$etc/users.acl"
bash "$repo/tests/clients/tls-certs.sh" "$etc/tls" >/dev/null
# The server runs as uid 999 (the entrypoint drops to it); the key must be readable by it,
# as the compose file's comment tells operators.
chown 999:999 "$etc/tls/server.key"
chmod 755 "$etc" "$etc/tls"
mapfile -t acl_command < <(q '.services.redis.command[]' | sed "s#$mount_root/#$etc/#g")
acl_hc=$(q '.services.redis.healthcheck.test[1]')

# cli PORT ARG...: redis-cli over TLS to PORT trusting the test CA, without a user.
cli() {
    local port=$1
    shift
    timeout 10 redis-cli --tls --cacert "$etc/tls/ca.crt" -h 127.0.0.1 -p "$port" --no-auth-warning "$@" 2>&1
}
as_user() { # as_user PORT USER ARG...: redis-cli over TLS logged in as USER (password USER-secret)
    local port=$1 user=$2
    shift 2
    cli "$port" --user "$user" --pass "$user-secret" "$@"
}

for server in respub redis; do
    tag="acl-tls on real $server"
    port=$(free_port)
    data=$work/acl-tls-data-$server
    mkdir -p "$data"
    # The published 6380 becomes a free port; 127.0.0.1 keeps the load on loopback.
    start_ep "$server" "$data" root "${acl_command[@]}" --tls-port "$port" --bind 127.0.0.1
    up=""
    for _ in $(seq 1 200); do
        if [[ "$(as_user "$port" admin ping)" == PONG ]]; then up=1; break; fi
        kill -0 "$ep_pid" 2>/dev/null || break
        sleep 0.05
    done
    if [[ -z $up ]]; then
        fail "$tag: the service's command starts a TLS server" "$(tail -n 20 "$ep_log")"
        stop_pid "$ep_pid"
        continue
    fi
    pass "$tag: the service's command starts a TLS server"

    hc=${acl_hc//$mount_root\//$etc/}
    hc=${hc//-p 6380/-h 127.0.0.1 -p $port}
    expect_cmd "$tag: the healthcheck (admin over TLS) passes" env -i PATH=/usr/bin:/bin /bin/sh -c "$hc"
    expect_eq "$tag: no plain-text listener (port 0)" "$(as_user "$port" admin config get port | tail -n 1)" 0
    expect_eq "$tag: the server runs as uid 999" "$(proc_field "$ep_pid" Uid)" 999

    out=$(cli "$port" ping)
    expect_eq "$tag: the default user is off: an anonymous PING is refused" \
        "$(grep -c 'NOAUTH' <<<"$out")" 1
    out=$(timeout 10 redis-cli --tls --cacert "$etc/tls/other-ca.crt" -h 127.0.0.1 -p "$port" \
        --user admin --pass admin-secret --no-auth-warning ping 2>&1)
    expect_eq "$tag: a client trusting another CA fails certificate verification" \
        "$(grep -ci 'certificate verify failed' <<<"$out")" 1
    expect_eq "$tag: a wrong password is refused" \
        "$(cli "$port" --user notifier --pass wrong ping | grep -c WRONGPASS)" 1
    expect_eq "$tag: ACL WHOAMI as admin" "$(as_user "$port" admin acl whoami)" admin

    # The gateway subscribes; the notifier publishes to an allowed channel and is refused
    # on another; the gateway sees exactly the allowed message.
    sub_out=$work/acl-tls-sub-$server.txt
    timeout 10 redis-cli --tls --cacert "$etc/tls/ca.crt" -h 127.0.0.1 -p "$port" \
        --user gateway --pass gateway-secret --no-auth-warning \
        psubscribe 'user:*:notifications' >"$sub_out" 2>&1 &
    sub_pid=$!
    started_pids+=("$sub_pid")
    for _ in $(seq 1 100); do
        [[ "$(as_user "$port" admin pubsub numpat)" == 1 ]] && break
        sleep 0.05
    done
    expect_eq "$tag: notifier PUBLISH to user:7:notifications reaches the gateway" \
        "$(as_user "$port" notifier publish user:7:notifications hello-7)" 1
    out=$(as_user "$port" notifier publish orders:new x)
    expect_eq "$tag: notifier PUBLISH to orders:new is refused (NOPERM)" "$(grep -c NOPERM <<<"$out")" 1
    out=$(as_user "$port" notifier subscribe user:7:notifications)
    expect_eq "$tag: notifier may not SUBSCRIBE (NOPERM)" "$(grep -c NOPERM <<<"$out")" 1
    out=$(as_user "$port" gateway publish user:7:notifications x)
    expect_eq "$tag: gateway may not PUBLISH (NOPERM)" "$(grep -c NOPERM <<<"$out")" 1
    out=$(as_user "$port" gateway subscribe orders:new)
    expect_eq "$tag: gateway may not SUBSCRIBE outside its channels (NOPERM)" "$(grep -c NOPERM <<<"$out")" 1
    expect_eq "$tag: admin sees the gateway's pattern" \
        "$(as_user "$port" admin pubsub numpat)" 1
    expect_eq "$tag: ACL LOG recorded both denials on orders:new (notifier, gateway)" \
        "$(as_user "$port" admin acl log | grep -c '^orders:new$')" 2
    sleep 0.2
    stop_pid "$sub_pid"
    expect_eq "$tag: the gateway received exactly the allowed message" \
        "$(tr '\n' ' ' <"$sub_out")" "psubscribe user:*:notifications 1 pmessage user:*:notifications user:7:notifications hello-7 "
    stop_pid "$ep_pid"
done
