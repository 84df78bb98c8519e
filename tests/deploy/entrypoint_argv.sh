# shellcheck shell=bash disable=SC2154,SC2016
# (variables come from run.sh; the single-quoted sh -c scripts expand in the child)
# Part 1 (sourced by run.sh): docker/docker-entrypoint.sh's argv rules, with stand-ins.
#
# `respub`, `redis-server`, `redis-cli`, `sh`, `chown`, `id` and `setpriv` on PATH are
# recorders: each appends one line, `UMASK NAME ARG...` (args shell-quoted), to $REC, so
# the test sees exactly what the entrypoint exec'd, with which umask, and what it
# chowned. `id -u` answers $FAKE_UID; `setpriv -d` reports $FAKE_CAPS as the bounding set.
# The cases are the official redis image's documented uses (`command:` lines from its
# README and from compose files) plus each branch of the script.

argv_fake=$work/argv-fake
mkdir -p "$argv_fake"
cat >"$argv_fake/recorder" <<'EOS'
#!/bin/bash
{ printf '%s %q' "$(umask)" "$(basename "${RECORD_AS:-$0}")"; printf ' %q' "$@"; echo; } >>"$REC"
EOS
chmod +x "$argv_fake/recorder"
for name in respub redis-server redis-cli sh chown; do ln -s recorder "$argv_fake/$name"; done
cat >"$argv_fake/id" <<'EOS'
#!/bin/bash
[[ "$1" == -u ]] && { echo "$FAKE_UID"; exit 0; }
exec /usr/bin/id "$@"
EOS
cat >"$argv_fake/setpriv" <<'EOS'
#!/bin/bash
if [[ "$1" == -d ]]; then echo "Capability bounding set: $FAKE_CAPS"; exit 0; fi
RECORD_AS=setpriv exec "$(dirname "$0")/recorder" "$@"
EOS
chmod +x "$argv_fake/id" "$argv_fake/setpriv"

ep=$repo/docker/docker-entrypoint.sh
argv_data=$work/argv-data          # the container's WORKDIR /data
argv_conf=$work/argv-conf          # /usr/local/etc/redis
mkdir -p "$argv_data" "$argv_conf"
touch "$argv_data/appendonly.aof"  # something /data might hold that uid 999 does not own
printf 'port 7000\nrequirepass x\n' >"$argv_conf/redis.conf"
printf 'port 7000\n  Protected-Mode yes\n' >"$argv_conf/protected.conf"
all_caps=chown,dac_override,fowner,fsetid,kill,setgid,setuid,setpcap,net_bind_service

# run_ep [VAR=VALUE...] -- ARG...: runs the entrypoint as Docker would (umask 0022,
# WORKDIR /data) and prints what was recorded.
run_ep() {
    local envs=(PATH="$argv_fake:/usr/bin:/bin" REC="$work/argv.rec" FAKE_UID=999 FAKE_CAPS="$all_caps")
    while [[ "$1" != -- ]]; do envs+=("$1"); shift; done
    shift
    : >"$work/argv.rec"
    (cd "$argv_data" && env -i "${envs[@]}" /bin/sh -c 'umask 0022; exec "$0" "$@"' "$ep" "$@") \
        >"$work/argv.out" 2>&1
    echo "rc=$?"
    cat "$work/argv.rec"
}

c=$argv_conf/redis.conf
echo "--- entrypoint argv rules (stand-ins)"
expect_eq "argv: redis-server --requirepass x" "$(run_ep -- redis-server --requirepass x)" \
    "rc=0
0077 respub --protected-mode no --requirepass x"
expect_eq "argv: bare flags get redis-server in front (--port 7000)" "$(run_ep -- --port 7000)" \
    "rc=0
0077 respub --protected-mode no --port 7000"
expect_eq "argv: a single-dash first arg too; -v is a one-shot mode, nothing injected" \
    "$(run_ep -- -v)" "rc=0
0077 respub -v"
expect_eq "argv: redis-server --version: nothing injected" "$(run_ep -- redis-server --version)" \
    "rc=0
0077 respub --version"
expect_eq "argv: a lone .conf path gets redis-server in front" "$(run_ep -- "$c")" \
    "rc=0
0077 respub $c --protected-mode no"
expect_eq "argv: redis-server CONF, the official README's form" "$(run_ep -- redis-server "$c")" \
    "rc=0
0077 respub $c --protected-mode no"
expect_eq "argv: redis-server CONF --flags: the file stays first, user flags last" \
    "$(run_ep -- redis-server "$c" --port 7001 --loglevel warning)" \
    "rc=0
0077 respub $c --protected-mode no --port 7001 --loglevel warning"
expect_eq "argv: a config file that sets protected-mode is obeyed" \
    "$(run_ep -- redis-server "$argv_conf/protected.conf")" \
    "rc=0
0077 respub $argv_conf/protected.conf"
expect_eq "argv: a config file on stdin (-)" "$(run_ep -- redis-server - --port 7002)" \
    "rc=0
0077 respub - --protected-mode no --port 7002"
expect_eq "argv: RESPUB_PROTECTED_MODE set: no injected flag" \
    "$(run_ep RESPUB_PROTECTED_MODE=yes -- redis-server --port 7003)" \
    "rc=0
0077 respub --port 7003"
expect_eq "argv: respub by its own name" "$(run_ep -- respub --port 7004)" \
    "rc=0
0077 respub --protected-mode no --port 7004"
expect_eq "argv: a path to redis-server is kept as written" \
    "$(run_ep -- "$argv_fake/redis-server" --port 7005)" \
    "rc=0
0077 redis-server --protected-mode no --port 7005"
expect_eq "argv: redis-cli ping passes through untouched" "$(run_ep -- redis-cli ping)" \
    "rc=0
0077 redis-cli ping"
expect_eq "argv: sh -c passes through untouched" "$(run_ep -- sh -c 'redis-cli -h redis ping && echo up')" \
    "rc=0
0077 sh -c $(printf %q 'redis-cli -h redis ping && echo up')"
expect_eq "argv: a umask already set (0027) is kept" \
    "$(cd "$argv_data" && env -i PATH="$argv_fake:/usr/bin:/bin" REC="$work/argv.rec" FAKE_UID=999 \
        /bin/sh -c ': >"$REC"; umask 0027; "$0" "$@" >/dev/null 2>&1; cat "$REC"' "$ep" --port 7006)" \
    "0027 respub --protected-mode no --port 7006"

echo "--- entrypoint as root (stand-ins)"
expect_eq "root: chowns what 999 does not own in /data, re-runs itself as 999:999" \
    "$(run_ep FAKE_UID=0 -- redis-server --requirepass x)" \
    "rc=0
0022 chown 999:999 . ./appendonly.aof
0022 setpriv --reuid=999 --regid=999 --clear-groups -- $ep respub --requirepass x"
expect_eq "root: a bare --port is the server too" "$(run_ep FAKE_UID=0 SKIP_FIX_PERMS=1 -- --port 7000)" \
    "rc=0
0022 setpriv --reuid=999 --regid=999 --clear-groups -- $ep respub --port 7000"
expect_eq "root: SKIP_FIX_PERMS=1 leaves /data alone" \
    "$(run_ep FAKE_UID=0 SKIP_FIX_PERMS=1 -- redis-server "$c")" \
    "rc=0
0022 setpriv --reuid=999 --regid=999 --clear-groups -- $ep respub $c"
expect_eq "root: SKIP_DROP_PRIVS=1 keeps root" \
    "$(run_ep FAKE_UID=0 SKIP_DROP_PRIVS=1 -- redis-server --port 7000)" \
    "rc=0
0077 respub --protected-mode no --port 7000"
expect_eq "root: without CAP_SETUID it runs as root instead of failing" \
    "$(run_ep FAKE_UID=0 FAKE_CAPS=chown,setgid -- redis-server --port 7000)" \
    "rc=0
0077 respub --protected-mode no --port 7000"
expect_cmd "root: ... and says so on stderr" grep -q 'no CAP_SETUID/CAP_SETGID' "$work/argv.out"
expect_eq "root: without CAP_SETGID likewise" \
    "$(run_ep FAKE_UID=0 FAKE_CAPS=chown,setuid -- redis-server --port 7000)" \
    "rc=0
0077 respub --protected-mode no --port 7000"
expect_eq "root: redis-cli keeps root and /data is not touched" "$(run_ep FAKE_UID=0 -- redis-cli ping)" \
    "rc=0
0077 redis-cli ping"
expect_eq "root: sh -c likewise" "$(run_ep FAKE_UID=0 -- sh -c 'id -u')" \
    "rc=0
0077 sh -c $(printf %q 'id -u')"
