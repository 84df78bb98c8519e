"""Builds docker/Dockerfile's image without Docker, as far as that can be done: every
stage FROM debian:bookworm-*-slim starts as a copy of a debootstrap'd bookworm minbase
root (setup.sh makes it once), a stage FROM an earlier stage as a copy of that stage's
root, and each RUN, COPY, WORKDIR... of the Dockerfile itself is applied in order, RUN
through chroot. The `build` stage (rust:*-bookworm) is not replayed: its one product,
/out/respub, is the respub binary built on this machine (same rustc version, same
Debian), passed as BIN. Needs root (chroot).

  replay_image.py DOCKERFILE CONTEXT ROOTFS_CACHE WORK BIN

Prints each step, then one JSON line `{"root": ..., "config": {...}}` with the final
stage's root folder and its image config (Entrypoint, Cmd, WorkingDir, Env, Volumes,
ExposedPorts, User). Exits 1 on the first step that fails, or on an instruction it does
not know how to replay.
"""

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from dockerfile_parse import stages

dockerfile, context, cache, work, binary = map(Path, sys.argv[1:6])
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def die(msg):
    print(f"replay: {msg}", flush=True)
    sys.exit(1)


def inside(root, path):
    return root / str(path).lstrip("/")


def copy_tree(src, dest):
    # cp -a, not shutil.copytree: a root has /dev nodes, which must be made, not read.
    subprocess.run(["cp", "-a", "--", str(src), str(dest)], check=True)


def copy_into(src, dest):
    """Docker's COPY: a folder's contents go into dest; a file becomes dest, or goes into
    dest when dest ends in /."""
    if src.is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-a", "--", f"{src}/.", str(dest)], check=True)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)


roots = {}  # stage name -> root folder
configs = {}  # stage name -> image config
for index, (image, name, body) in enumerate(stages(dockerfile.read_text())):
    label = name or f"stage{index}"
    if image.startswith("rust:"):
        print(f"replay: {label}: not replayed; its /out/respub is {binary}", flush=True)
        roots[label] = None
        continue
    root = work / f"root-{label}"
    if image in roots:
        copy_tree(roots[image], root)
        print(f"replay: {label}: FROM {image} (copy of that stage)", flush=True)
    elif image.startswith("debian:bookworm-") and image.endswith("-slim"):
        copy_tree(cache, root)
        print(f"replay: {label}: FROM {image} (debootstrap --variant=minbase bookworm)", flush=True)
    else:
        die(f"{label}: no stand-in for base image {image}")
    shutil.copy2("/etc/resolv.conf", inside(root, "/etc/resolv.conf"))
    # A stage FROM another stage inherits its image config, as in Docker.
    config = json.loads(json.dumps(configs.get(image) or {
        "Env": {"PATH": DEFAULT_PATH}, "WorkingDir": "/", "Volumes": [], "ExposedPorts": [],
        "Entrypoint": None, "Cmd": None, "User": ""}))
    for kw, args in body:
        if kw == "RUN":
            if args.startswith("--"):
                die(f"{label}: RUN flags are not replayed: {args[:60]}")
            env = dict(config["Env"])
            cmd = ["chroot", str(root), "/bin/sh", "-c", f"cd {shlex.quote(config['WorkingDir'])} && {args}"]
            print(f"replay: {label}: RUN {args[:100]}", flush=True)
            r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                die(f"{label}: RUN failed ({r.returncode}):\n{r.stdout[-3000:]}")
        elif kw == "COPY":
            words = shlex.split(args)
            flags = [w for w in words if w.startswith("--")]
            srcs, dest = [w for w in words if not w.startswith("--")][:-1], words[-1]
            source = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
            if any(not f.startswith("--from=") for f in flags):
                die(f"{label}: COPY flags other than --from are not replayed: {flags}")
            for src in srcs:
                if source is None:
                    origin = context / src
                elif roots.get(source) is None and source in roots:
                    if src != "/out/respub":
                        die(f"{label}: only /out/respub comes from the build stage, not {src}")
                    origin = binary
                elif source in roots:
                    origin = inside(roots[source], src)
                else:
                    die(f"{label}: COPY --from={source}: unknown stage")
                if not origin.exists():
                    die(f"{label}: COPY {src}: {origin} does not exist")
                target = inside(root, dest if not dest.endswith("/") else dest + origin.name)
                copy_into(origin, target)
            print(f"replay: {label}: COPY {args}", flush=True)
        elif kw == "WORKDIR":
            config["WorkingDir"] = args
            inside(root, args).mkdir(parents=True, exist_ok=True)
        elif kw == "ENV":
            k, _, v = args.partition("=")
            config["Env"][k.strip()] = v.strip()
        elif kw == "VOLUME":
            config["Volumes"].append(args)
        elif kw == "EXPOSE":
            config["ExposedPorts"].append(args)
        elif kw in ("ENTRYPOINT", "CMD"):
            config["Entrypoint" if kw == "ENTRYPOINT" else "Cmd"] = json.loads(args)
        elif kw == "USER":
            config["User"] = args
        else:
            die(f"{label}: {kw} is not replayed")
    roots[label] = root
    configs[label] = config

print(json.dumps({"root": str(root), "config": config}), flush=True)
