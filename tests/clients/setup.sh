#!/usr/bin/env bash
# Install everything the client suites need on a clean Debian 12 machine. Idempotent.
# Network use is limited to the package registries (Debian, PyPI, npm, Maven Central, the
# Go module proxy for the modules pinned in go/go.mod).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

apt_pkgs=(redis-server redis-tools)
# tests/admin_exporter.rs: Debian's redis_exporter 1.45 scrapes respub and redis-server.
apt_pkgs+=(prometheus-redis-exporter)
# tests/browser (issue 12): the demo page in headless Chromium (driven by playwright-core).
apt_pkgs+=(chromium)
# tests/backplane.rs: a NATS cluster of nats-server processes (Debian 12: 2.9.10).
apt_pkgs+=(nats-server)
# `python3 -m venv` needs ensurepip, which Debian ships separately.
python3 -c 'import ensurepip' 2>/dev/null || apt_pkgs+=(python3-venv)
command -v python3 >/dev/null || apt_pkgs+=(python3 python3-venv)
command -v node >/dev/null || apt_pkgs+=(nodejs npm)
# Java suites (Jedis, Lettuce, Spring Data Redis): JDK >= 17 and Maven.
command -v javac >/dev/null || apt_pkgs+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || apt_pkgs+=(maven)

missing=()
for p in "${apt_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "${missing[@]}"
fi

# The Debian redis-server package starts a system service on :6379. The suites start their
# own servers on free ports and never use it, so it is left alone. The same holds for
# prometheus-redis-exporter's service on :9121: tests/admin_exporter.rs starts its own,
# and for nats-server's on :4222: tests/backplane.rs starts its own cluster.

# ioredis 6 declares node >= 20 (Debian 12's own nodejs is 18).
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 20)); then
    echo "setup: node $(node --version) is too old; ioredis 6 needs node >= 20" >&2
    exit 1
fi

# Python: venvs inside the suite folder (gitignored), so no system site-packages change;
# one per requirements file (redis-py's own suite, the frameworks, and broadcaster, which
# needs redis-py 7), each (re)installed only when a pinned version is missing.
pinned_venv() { # pinned_venv VENV_DIR REQUIREMENTS_FILE
    local venv=$1 reqs=$2
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
    if ! "$venv/bin/python" - "$reqs" <<'EOF'
import sys, importlib.metadata as md
want = [l.split('#')[0].strip() for l in open(sys.argv[1])]
for req in filter(None, want):
    if ';' in req:
        continue  # environment-marker lines are resolved by pip
    name, ver = req.split('==')
    try:
        if md.version(name) != ver:
            sys.exit(1)
    except md.PackageNotFoundError:
        sys.exit(1)
EOF
    then
        echo "setup: pip install -r $reqs"
        "$venv/bin/pip" install -q --disable-pip-version-check -r "$reqs"
    fi
}
pinned_venv "$here/python/.venv" "$here/python/requirements.txt"
pinned_venv "$here/python/.venv-frameworks" "$here/python/requirements-frameworks.txt"
pinned_venv "$here/python/.venv-rp7" "$here/python/requirements-rp7.txt"
# tests/admin_http.rs: the Prometheus text parser.
pinned_venv "$here/python/.venv-admin" "$here/python/requirements-admin.txt"

# Node: exact versions from package-lock.json.
# (@socket.io/redis-adapter is checked too: a node_modules from before the socket.io suite
# lacks it.)
if [[ ! -d "$here/node/node_modules/ioredis" || ! -d "$here/node/node_modules/@socket.io/redis-adapter" ||
    "$here/node/package-lock.json" -nt "$here/node/node_modules/.package-lock.json" ]]; then
    (cd "$here/node" && npm ci --no-audit --no-fund)
fi

# Browser end-to-end (tests/browser): playwright-core, exact version from its lockfile.
if [[ ! -d "$here/../browser/node_modules/playwright-core" ||
    "$here/../browser/package-lock.json" -nt "$here/../browser/node_modules/.package-lock.json" ]]; then
    (cd "$here/../browser" && npm ci --no-audit --no-fund)
fi

# Go: the suites (redigo, go-redis, rueidis) are one module pinned by go/go.mod + go.sum.
# They need a newer Go than Debian 12's golang-go (1.19); the machine's toolchain
# (PATH or /usr/local/go) is used and build.sh fails loudly if it is missing or too old.
# `--download` fetches the pinned modules from the module proxy into the module cache;
# the builds in run.sh then run with GOPROXY=off.
"$here/go/build.sh" --download

# Java: one online Maven build fetches the pinned client jars and the build plugins into
# ~/.m2, so run.sh (java/build.sh) can build offline afterwards.
java_major=$(javac -version 2>&1 | sed -E 's/^javac ([0-9]+).*/\1/')
if ((java_major < 17)); then
    echo "setup: javac $java_major is too old; Spring Data Redis 4 needs Java >= 17" >&2
    exit 1
fi
(cd "$here/java" && mvn -B -q -Dstyle.color=never package)

echo "setup: ok"
