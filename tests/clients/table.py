"""Prints the compatibility table (Markdown) from the output of two client-suite runs.

    python3 tests/clients/table.py RESPUB_LOG REDIS_LOG

Each log is what `tests/clients/run.sh` printed (its `NAME: N passed, M failed` lines);
client names, pinned versions and protocols come from suites.tsv beside this file. A suite
listed there but missing from a log shows as "did not run", so the table cannot quietly
drop a client.
"""

import os
import re
import sys

LINE = re.compile(r"^([a-z0-9.\-]+): (\d+) passed, (\d+) failed$")


def results(path):
    found = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LINE.match(line.strip())
            if m and m.group(1) not in ("clients", "all"):
                found[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return found


def cell(r):
    if r is None:
        return "did not run"
    return f"{r[0]} passed, {r[1]} failed"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    respub, redis = results(sys.argv[1]), results(sys.argv[2])
    here = os.path.dirname(os.path.abspath(__file__))
    print("| client | pinned version | protocols | vs respub | vs redis-server |")
    print("|---|---|---|---|---|")
    for line in open(os.path.join(here, "suites.tsv"), encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        suite, client, version, protocols = line.rstrip("\n").split("\t")
        print(
            f"| {client} | {version} | {protocols} "
            f"| {cell(respub.get(suite))} | {cell(redis.get(suite))} |"
        )


if __name__ == "__main__":
    main()
