"""Static facts about docker/Dockerfile and .dockerignore that a redis user relies on,
and that hadolint does not know about. Standard library only.

Prints `ok NAME` / `FAIL NAME: why` per check; the caller (dockerfile.sh) counts them.
Usage: check_dockerfile.py REPO_ROOT      (exits 1 if a check fails)
"""

import fnmatch
import json
import re
import subprocess
import sys
from pathlib import Path

from dockerfile_parse import stages as parse_stages

repo = Path(sys.argv[1])
results = []


def check(name, cond, why=""):
    results.append((name, bool(cond), why))


dockerfile = (repo / "docker/Dockerfile").read_text()
stages = [(image, body) for image, _, body in parse_stages(dockerfile)]
final = stages[-1][1]
stage_names = {name for _, name, _ in parse_stages(dockerfile) if name}

# Base images: exact versions. A stage built FROM an earlier stage inherits its pin.
for image, _ in stages:
    if image in stage_names:
        continue
    ok = re.fullmatch(r"rust:\d+\.\d+\.\d+-bookworm", image) or re.fullmatch(
        r"debian:bookworm-\d{8}-slim", image
    )
    check(f"base image {image} is pinned (rust:X.Y.Z-bookworm, debian:bookworm-YYYYMMDD-slim)", ok)
check(
    "builder runs cargo build --release --locked --bin respub",
    any(kw == "RUN" and "cargo build --release --locked --bin respub" in a for _, st in stages for kw, a in st),
)


def final_values(keyword):
    return [a for kw, a in final if kw == keyword]


check("final stage: EXPOSE 6379", final_values("EXPOSE") == ["6379"], final_values("EXPOSE"))
check("final stage: VOLUME /data", final_values("VOLUME") == ["/data"], final_values("VOLUME"))
check("final stage: WORKDIR /data (the entrypoint chowns its working directory)",
      final_values("WORKDIR")[-1:] == ["/data"], final_values("WORKDIR"))
check("final stage: ENTRYPOINT [\"docker-entrypoint.sh\"], exec form",
      [json.loads(a) for a in final_values("ENTRYPOINT")] == [["docker-entrypoint.sh"]])
check("final stage: CMD [\"redis-server\"], like the official image",
      [json.loads(a) for a in final_values("CMD")] == [["redis-server"]])
users = [a for _, st in stages[-1:] for kw, a in st if kw == "USER"]
check("no USER root in the final stage (the entrypoint drops to 999, proven by entrypoint_real)",
      all(u.split(":")[0] not in ("root", "0") for u in users), users)
base_runs = " ".join(a for _, st in stages for kw, a in st if kw == "RUN")
check("the redis group is gid 999", re.search(r"groupadd\b[^&]*--gid 999\b[^&]*\bredis\b", base_runs))
check("the redis user is uid 999, group 999",
      re.search(r"useradd\b[^&]*--uid 999\b[^&]*--gid 999\b[^&]*\bredis\b", base_runs))
check("/data belongs to redis:redis in the image (fresh named volumes copy it)",
      "chown redis:redis /data" in base_runs)
final_runs = " ".join(a for kw, a in final if kw == "RUN")
copies = [a for kw, a in final if kw == "COPY"]
check("redis-server is a name for respub", "ln -s respub /usr/local/bin/redis-server" in final_runs)
check("redis-cli is in the image (healthchecks)", any(a.endswith("/usr/local/bin/redis-cli") for a in copies))
check("respub is in the image", any(a.endswith("/usr/local/bin/respub") for a in copies))
check("the entrypoint is in the image on PATH",
      "COPY docker/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh" in ["COPY " + a for a in copies])
check("the build proves redis-cli finds its libraries", "redis-cli --version" in final_runs)

mode = subprocess.run(["git", "-C", str(repo), "ls-files", "-s", "docker/docker-entrypoint.sh"],
                      capture_output=True, text=True).stdout.split()
check("docker-entrypoint.sh is committed executable (COPY keeps the mode)", mode[:1] == ["100755"], mode)

# .dockerignore with Docker's rules: the last matching pattern wins, `!` re-includes, and a
# pattern that matches a parent folder matches everything below it.
patterns = [l.strip() for l in (repo / ".dockerignore").read_text().splitlines()
            if l.strip() and not l.strip().startswith("#")]


def segment_match(pattern, path):
    ps, xs = pattern.strip("/").split("/"), path.split("/")
    return len(ps) <= len(xs) and all(fnmatch.fnmatchcase(x, p) for p, x in zip(ps, xs))


def in_context(path):
    keep = True
    for p in patterns:
        neg = p.startswith("!")
        if segment_match(p.lstrip("!"), path):
            keep = neg
    return keep


context_sources = []
for _, st in stages:
    for kw, a in st:
        if kw == "COPY" and not a.startswith("--from"):
            context_sources += [w for w in a.split()[:-1] if not w.startswith("--")]
for src in context_sources:
    check(f".dockerignore keeps {src} (COPY needs it)", in_context(src) and (repo / src).exists())
for path in ["target/release/respub", "tests/clients/node/node_modules/x", "tests/deploy/.venv/bin/python",
             ".git/HEAD", "README.md"]:
    check(f".dockerignore leaves out {path}", not in_context(path))
check(".dockerignore keeps a file deep in src/", in_context("src/conn/mod.rs"))

for name, ok, why in results:
    print(f"ok   {name}" if ok else f"FAIL {name}" + (f": {why}" if why else ""))
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
