"""Reads a Dockerfile into stages of (KEYWORD, arguments) instructions: continuation lines
joined, comments and parser directives dropped. Enough for docker/Dockerfile, which
check_dockerfile.py checks and replay_image.py replays; not a general parser."""

import re


def instructions(text):
    out, cur = [], ""
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#") or (not cur and not s):
            continue
        cur += " " + s
        if cur.endswith("\\"):
            cur = cur[:-1]
            continue
        word, _, rest = cur.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        cur = ""
    return out


def stages(text):
    """[(image, name or None, [(KEYWORD, args), ...])] in file order."""
    out = []
    for kw, args in instructions(text):
        if kw == "FROM":
            m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", args, re.I)
            out.append((m.group(1), m.group(2), []))
        elif out:
            out[-1][2].append((kw, args))
    return out
