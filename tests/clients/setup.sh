#!/usr/bin/env bash
# Install everything the client suites need on a clean Debian 12 machine. Idempotent.
# Network use is limited to the package registries (Debian, PyPI, npm); the Go suite is
# built offline from Debian's packaged redigo source (GOPATH mode, no module proxy).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

apt_pkgs=(redis-server redis-tools golang-go golang-github-gomodule-redigo-dev)
# `python3 -m venv` needs ensurepip, which Debian ships separately.
python3 -c 'import ensurepip' 2>/dev/null || apt_pkgs+=(python3-venv)
command -v python3 >/dev/null || apt_pkgs+=(python3 python3-venv)
command -v node >/dev/null || apt_pkgs+=(nodejs npm)

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
# own servers on free ports and never use it, so it is left alone.

# ioredis 6 declares node >= 20 (Debian 12's own nodejs is 18).
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 20)); then
    echo "setup: node $(node --version) is too old; ioredis 6 needs node >= 20" >&2
    exit 1
fi

# Python: a venv inside the suite folder (gitignored), so no system site-packages change.
venv="$here/python/.venv"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" - "$here/python/requirements.txt" <<'EOF'
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
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/python/requirements.txt"
fi

# Python framework suites: one venv per requirements file (broadcaster needs redis-py 7,
# the others use redis-py 8), each (re)installed only when a pinned version is missing.
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
pinned_venv "$here/python/.venv-frameworks" "$here/python/requirements-frameworks.txt"
pinned_venv "$here/python/.venv-rp7" "$here/python/requirements-rp7.txt"

# Node: exact versions from package-lock.json.
if [[ ! -d "$here/node/node_modules/ioredis" || "$here/node/package-lock.json" -nt "$here/node/node_modules/.package-lock.json" ]]; then
    (cd "$here/node" && npm ci --no-audit --no-fund)
fi

# Go: GOPATH mode against /usr/share/gocode, where Debian put redigo's source.
"$here/go/build.sh"

echo "setup: ok"
