#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The container and deployment checks (issue 8): docker/ and deploy/ as a new user
# would use them, on a machine without a Docker engine or a Kubernetes cluster.
#
#   tests/deploy/run.sh [--bin PATH]     (default target/release/respub)
#
#   1. entrypoint_argv.sh: docker/docker-entrypoint.sh's argv rules, with stand-ins;
#   2. entrypoint_real.sh: the entrypoint starting the real respub and, as the
#      reference, the real redis-server, as root and not, then redis-cli and the
#      example app against them;
#   3. compose.sh: deploy/docker-compose.yml through `docker compose config` and the
#      compose-spec schema, then its redis command and healthcheck run for real;
#   4. compose_acl_tls.sh: deploy/acl-tls/ (TLS only, ACL users from an aclfile) validated,
#      then its command and healthcheck run for real with generated certificates;
#   5. kubernetes.sh: deploy/kubernetes/respub.yaml against Kubernetes' schemas
#      (kubernetes-validate --strict) and the rules the pod relies on;
#   6. dockerfile.sh: hadolint and shellcheck, and the image facts a redis user relies on;
#   7. image.sh: the Dockerfile replayed into a chroot (no Docker), then run as
#      `docker run IMAGE --port P` would run it.
# The tools come from setup.sh (pinned in requirements.txt). Prints one line per check
# and, last, `deploy: N passed, M failed`; exits 1 on any failure. Only the processes it
# started are stopped, by PID.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=$repo/target/release/respub
while (($#)); do
    case "$1" in
    --bin) bin=$2; shift 2 ;;
    -h | --help) sed -n '3,23p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ "$bin" == /* ]] || bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

# shellcheck source=lib.sh
source "$here/lib.sh"

if ! bash "$here/setup.sh"; then
    echo "run.sh: setup failed"
    echo "deploy: 0 passed, 1 failed"
    exit 1
fi
venv=$here/.venv
# shellcheck disable=SC2034 # used by image.sh
rootfs_cache=$here/.rootfs/bookworm-minbase
export PATH="$venv/bin:$PATH"

work=$(mktemp -d "${TMPDIR:-/tmp}/respub-deploy.XXXXXX")
chmod 755 "$work"
started_pids=()
cleanup() {
    local pid
    for pid in "${started_pids[@]}"; do stop_pid "$pid"; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=servers.sh
source "$here/servers.sh"
for part in ${DEPLOY_PARTS:-entrypoint_argv entrypoint_real compose compose_acl_tls kubernetes dockerfile image}; do
    if [[ -f "$here/$part.sh" ]]; then
        # shellcheck source=/dev/null
        source "$here/$part.sh"
    else
        fail "part $part exists"
    fi
done

echo "deploy: $deploy_pass passed, $deploy_fail failed"
((deploy_fail == 0))
