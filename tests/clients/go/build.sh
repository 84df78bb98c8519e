#!/usr/bin/env bash
# Build the Go client suites (redigo, go-redis, rueidis) from this module into bin/.
#
#   go/build.sh [SUITE...]              build bin/SUITE-suite for redigo, go-redis, rueidis
#                                       (default all); modules must be downloaded already
#   go/build.sh --download [SUITE...]   `go mod download` first (setup.sh does this, online)
#
# Versions are pinned by go.mod and checked against go.sum; builds never touch the
# network (GOPROXY=off, GOFLAGS=-mod=readonly), so a missing module is an error here
# that tells you to run setup.sh, not a silent download during a test run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# The toolchain: the first of `go` in PATH and /usr/local/go/bin/go that is at least the
# version go.mod asks for (Debian 12's golang-go is 1.19, too old). None: fail loudly,
# never fetch a toolchain.
need=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$here/go.mod")
go= seen=()
for cand in "$(command -v go || true)" /usr/local/go/bin/go; do
    [[ -n "$cand" && -x "$cand" ]] || continue
    have=$(GOTOOLCHAIN=local "$cand" env GOVERSION 2>/dev/null | sed 's/^go//')
    seen+=("$cand=go${have:-?}")
    if [[ -n "$have" && "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n 1)" == "$need" ]]; then
        go=$cand
        break
    fi
done
if [[ -z "$go" ]]; then
    echo "go/build.sh: go.mod needs go >= $need; found: ${seen[*]:-no go toolchain}" >&2
    exit 1
fi
export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" GO111MODULE=on
cd "$here"
if [[ "${1:-}" == --download ]]; then
    shift
    "$go" mod download
    "$go" mod verify
fi
export GOPROXY=off
mkdir -p "$here/bin"
(($#)) || set -- redigo go-redis rueidis
for suite in "$@"; do
    case "$suite" in
    redigo) pkg=./redigo ;;
    go-redis) pkg=./goredis ;;
    rueidis) pkg=./rueidis ;;
    *) echo "go/build.sh: unknown suite $suite" >&2; exit 2 ;;
    esac
    "$go" build -o "$here/bin/$suite-suite" "$pkg" || {
        echo "go/build.sh: building $suite failed; a missing module means: run tests/clients/setup.sh" >&2
        exit 1
    }
done
