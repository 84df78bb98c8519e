#!/bin/sh
# Entrypoint of the respub image. It accepts the same `command:` lines as the official
# redis image's entrypoint, so a compose file or pod spec written for `redis` runs
# unchanged:
#
#   1. A first argument that is an option (`--port 7000`, `-`) or a config file
#      (`/usr/local/etc/redis/redis.conf`) means "start the server with these":
#      `redis-server` is put in front.
#   2. The server is `redis-server` or `respub` (a bare name or any path to either).
#      A bare `redis-server` runs as `respub`, so `ps` and the logs name what runs;
#      the image also has a `redis-server` symlink for custom entrypoints.
#   3. Started as root (no `--user`, no `runAsUser`), the server does not keep root:
#      files in the working directory (/data) that uid 999 does not own are given to
#      999:999 (SKIP_FIX_PERMS=1 turns that off), then this script runs itself again
#      as 999:999 with no supplementary groups. If the container lacks CAP_SETUID or
#      CAP_SETGID (cap_drop: [ALL]) that is impossible, and the server stays root
#      with a notice instead of failing to start. SKIP_DROP_PRIVS=1 keeps root.
#   4. A umask still at Docker's 0022 becomes 0077: files the server writes (pidfile,
#      logfile, CONFIG REWRITE) are readable by their owner only.
#   5. The official image builds Redis with protected mode off, because a container's
#      port is only reachable where it is published. respub's default is Redis's (on),
#      so `--protected-mode no` is put right after the command and its config file,
#      where anything later wins: user flags still override it. It is left out when
#      the config file sets protected-mode itself, RESPUB_PROTECTED_MODE is set, or
#      the first argument is a one-shot mode (-v, --version, -h, --help, --test-memory).
#   Anything else (`redis-cli ping`, `sh -c ...`) runs as given, as the same user.
set -e

server_uid=999
server_gid=999

case "$1" in
-* | *.conf) set -- redis-server "$@" ;;
esac

is_server=
case "$1" in
redis-server)
    shift
    set -- respub "$@"
    is_server=1
    ;;
respub | */redis-server | */respub) is_server=1 ;;
esac

# The bounding set lists what setpriv may still gain; inside a container with
# cap_drop: [ALL] it has neither setuid nor setgid.
can_switch_user() {
    bounding=$(setpriv -d 2>/dev/null | sed -n 's/^Capability bounding set: *//p')
    case ",$bounding," in
    *,setuid,*) ;;
    *) return 1 ;;
    esac
    case ",$bounding," in
    *,setgid,*) return 0 ;;
    esac
    return 1
}

if [ -n "$is_server" ] && [ "$(id -u)" = 0 ] && [ -z "${SKIP_DROP_PRIVS:-}" ]; then
    if can_switch_user; then
        if [ -z "${SKIP_FIX_PERMS:-}" ]; then
            find . \! -user "$server_uid" -exec chown "$server_uid:$server_gid" '{}' +
        fi
        exec setpriv --reuid="$server_uid" --regid="$server_gid" --clear-groups -- "$0" "$@"
    fi
    echo "docker-entrypoint.sh: no CAP_SETUID/CAP_SETGID to switch to uid $server_uid; running as root" >&2
fi

if [ "$(umask)" = 0022 ]; then
    umask 0077
fi

if [ -n "$is_server" ] && [ -z "${RESPUB_PROTECTED_MODE+set}" ]; then
    server=$1
    shift
    # respub, like redis-server, reads a config file only as its first argument;
    # `-` is standard input. The one-shot modes take no directives after them.
    case "${1-}" in
    -v | --version | -h | --help | --test-memory)
        set -- "$server" "$@"
        ;;
    - | [!-]*)
        config=$1
        shift
        if [ "$config" != - ] && [ -r "$config" ] &&
            grep -Eiq '^[[:space:]]*protected-mode[[:space:]]' "$config"; then
            set -- "$server" "$config" "$@"
        else
            set -- "$server" "$config" --protected-mode no "$@"
        fi
        ;;
    *)
        set -- "$server" --protected-mode no "$@"
        ;;
    esac
fi

exec "$@"
