#!/usr/bin/env bash
# Build the Go client suites (redigo, go-redis, rueidis) from this module into bin/.
#
#   go/build.sh                 build all three; modules must already be downloaded
#   go/build.sh --download      `go mod download` first (setup.sh does this, online)
#
# Versions are pinned by go.mod and checked against go.sum; builds never touch the
# network (GOPROXY=off, GOFLAGS=-mod=readonly), so a missing module is an error here
# that tells you to run setup.sh, not a silent download during a test run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# The toolchain: the one in PATH, else the usual /usr/local/go. go.mod says which
# minimum it needs; an older go fails loudly here instead of fetching a toolchain.
go=$(command -v go || true)
[[ -z "$go" && -x /usr/local/go/bin/go ]] && go=/usr/local/go/bin/go
[[ -n "$go" ]] || { echo "go/build.sh: no go toolchain found (PATH or /usr/local/go/bin/go)" >&2; exit 1; }
need=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$here/go.mod")
have=$("$go" env GOVERSION | sed 's/^go//')
if [[ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n 1)" != "$need" ]]; then
    echo "go/build.sh: $go is go$have; go.mod needs go >= $need" >&2
    exit 1
fi
export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" GO111MODULE=on
cd "$here"
if [[ "${1:-}" == --download ]]; then
    "$go" mod download
    "$go" mod verify
fi
export GOPROXY=off
mkdir -p "$here/bin"
"$go" build -o "$here/bin/redigo-suite" ./redigo
"$go" build -o "$here/bin/go-redis-suite" ./goredis
"$go" build -o "$here/bin/rueidis-suite" ./rueidis
