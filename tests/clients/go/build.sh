#!/usr/bin/env bash
# Build the redigo suite offline: GOPATH mode, redigo from Debian's
# golang-github-gomodule-redigo-dev (/usr/share/gocode). No module proxy is needed or used.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[[ -d /usr/share/gocode/src/github.com/gomodule/redigo/redis ]] \
    || { echo "go/build.sh: redigo source missing; apt-get install golang-github-gomodule-redigo-dev" >&2; exit 1; }
mkdir -p "$here/bin"
export GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOFLAGS= GOCACHE="${GOCACHE:-$here/bin/.gocache}"
cd "$here"
go build -o "$here/bin/redigo-suite" ./main.go
