# shellcheck shell=bash disable=SC2154,SC2016
# (variables and helpers come from run.sh and servers.sh; single-quoted scripts expand in
# the child)
# Part 7 (sourced by run.sh): the image, built without Docker and run without Docker.
#
# replay_image.py applies docker/Dockerfile's own instructions to a debootstrap'd bookworm
# minbase root (setup.sh makes it; the Dockerfile's base is bookworm-slim, the same
# minbase set trimmed of docs), with RUN through chroot and the respub built here standing
# in for the rust stage. Then `docker run IMAGE --port P --bind 127.0.0.1` is played as
# Docker would: the image's ENTRYPOINT with those args in its WORKDIR, as root, umask
# 0022, the image's PATH, chrooted into the result (the network is the host's loopback).

echo "--- the image, replayed in a chroot"
image_work=$work/image
mkdir -p "$image_work"
if ! "$venv/bin/python" "$here/replay_image.py" "$repo/docker/Dockerfile" "$repo" "$rootfs_cache" \
    "$image_work" "$bin" >"$image_work/replay.log" 2>&1; then
    fail "docker/Dockerfile replays (every RUN and COPY of the runtime stages)" "$(tail -n 30 "$image_work/replay.log")"
else
    pass "docker/Dockerfile replays (every RUN and COPY of the runtime stages)"
    image_json=$(tail -n 1 "$image_work/replay.log")
    root=$(jq -r .root <<<"$image_json")
    mapfile -t image_entrypoint < <(jq -r '.config.Entrypoint[]' <<<"$image_json")
    image_workdir=$(jq -r .config.WorkingDir <<<"$image_json")
    image_path=$(jq -r .config.Env.PATH <<<"$image_json")
    # Like `docker run IMAGE CMD...` (without the entrypoint unless CMD names it): root,
    # the image's PATH, in its WORKDIR (the entrypoint chowns what is there, as root).
    in_image() {
        env -i PATH="$image_path" HOME=/root chroot "$root" /bin/sh -c 'cd "$0" && exec "$@"' "$image_workdir" "$@"
    }

    expect_eq "image: no redis-check-rdb (a whole Redis server) or redis-benchmark" \
        "$(cd "$root" && ls usr/bin/redis-* usr/local/bin/redis-check-* usr/local/bin/redis-benchmark 2>/dev/null)" ""
    expect_eq "image: redis-server is a symlink to respub" "$(readlink "$root/usr/local/bin/redis-server")" respub
    expect_eq "image: the redis user is 999:999" "$(in_image id redis)" \
        "uid=999(redis) gid=999(redis) groups=999(redis)"
    expect_cmd "image: redis-cli runs (its libraries are there)" in_image redis-cli --version
    expect_eq "image: docker run IMAGE redis-cli --version passes through the entrypoint" \
        "$(in_image docker-entrypoint.sh redis-cli --version)" "$(in_image redis-cli --version)"
    expect_eq "image: docker run IMAGE --version is respub's" \
        "$(in_image docker-entrypoint.sh --version)" "$("$bin" --version)"

    port=$(free_port)
    (umask 0022 && exec env -i PATH="$image_path" HOME=/root chroot "$root" /bin/sh -c 'cd "$0" && exec "$@"' \
        "$image_workdir" "${image_entrypoint[@]}" --port "$port" --bind 127.0.0.1) >"$image_work/run.log" 2>&1 &
    image_pid=$!
    started_pids+=("$image_pid")
    tag="image: docker run IMAGE --port $port --bind 127.0.0.1"
    if ! wait_ping "$port" "$image_pid"; then
        fail "$tag: answers PONG" "$(tail -n 20 "$image_work/run.log")"
        stop_pid "$image_pid"
    else
        pass "$tag: answers PONG"
        expect_eq "$tag: the server is respub, as uid/gid 999" \
            "$(basename "$(readlink "/proc/$image_pid/exe")") $(proc_field "$image_pid" Uid)/$(proc_field "$image_pid" Gid)" \
            "respub 999/999"
        expect_eq "$tag: /data belongs to 999:999" "$(stat -c %u:%g "$root/data")" 999:999
        expect_cmd "$tag: the compose healthcheck, run inside the image" \
            in_image /bin/sh -c "redis-cli -p $port ping | grep -q PONG"
        app_out=$(REDIS_URL="redis://127.0.0.1:$port/0" COUNT=3 INTERVAL=0 timeout 20 "$app_python" "$app" 2>&1)
        if [[ $app_out == *"app: 3 messages went round"* ]]; then
            pass "$tag: the example app publishes and receives"
        else
            fail "$tag: the example app publishes and receives" "$app_out"
        fi
        kill -TERM "$image_pid"
        for _ in $(seq 1 100); do kill -0 "$image_pid" 2>/dev/null || break; sleep 0.05; done
        wait "$image_pid"
        expect_eq "$tag: SIGTERM (docker stop) ends it with exit 0" "$?" 0
    fi
    echo "     (the replayed runtime root is $(du -sm "$root" | cut -f1) MiB, respub with its debug info; $(du -sm "$rootfs_cache" | cut -f1) MiB of it is minbase)"
fi
