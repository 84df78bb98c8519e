"""Shared runner for the Python framework suites (test_channels.py, test_broadcaster.py,
test_fastapi_style.py). Same conventions as test_redis_py.py: environment from ../run.sh
(CLIENTS_HOST, CLIENTS_PORT, CLIENTS_CTL), a time limit per check, one closing line
`NAME: N passed, M failed`, exit 1 on any failure. Standard library only, so it works in
every venv.
"""

import asyncio
import os
import signal
import sys
import time
import traceback

HOST = os.environ.get("CLIENTS_HOST", "127.0.0.1")
PORT = int(os.environ["CLIENTS_PORT"])
CTL = os.environ["CLIENTS_CTL"]
TEST_TIMEOUT = 90  # seconds per check, enforced by asyncio.wait_for
WAIT = 5.0  # seconds any single expected event may take

TESTS = []


def test(fn):
    """Register an async check (or a sync one that runs its own event loops)."""
    TESTS.append(fn)
    return fn


def both_protocols(fn):
    """Register fn once per RESP version; fn takes the protocol as its argument."""
    for proto in (2, 3):
        def bound(proto=proto):
            return fn(proto)
        bound.__name__ = f"{fn.__name__}[resp{proto}]"
        bound.is_async = asyncio.iscoroutinefunction(fn)
        TESTS.append(bound)
    return fn


def eq(got, want, what=""):
    if got != want:
        raise AssertionError(f"{what}: expected {want!r}, got {got!r}")


async def poll(cond, what, timeout=WAIT, every=0.01):
    """Bounded wait until the coroutine function cond() returns a truthy value."""
    deadline = time.monotonic() + timeout
    while True:
        got = await cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout}s")
        await asyncio.sleep(every)


async def within(aw, what, timeout=WAIT):
    """Await aw, failing with `what` after timeout seconds."""
    try:
        return await asyncio.wait_for(aw, timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"{what}: nothing within {timeout}s") from None


async def numsub(r, channel):
    """PUBSUB NUMSUB for one channel through a redis.asyncio client."""
    [(_, n)] = await r.pubsub_numsub(channel)
    return n


def require(requirements, name):
    """Exit with a failure line unless every package pinned in `requirements` (next to
    this file) is installed at its pinned version: a missing tool fails, never skips."""
    import importlib.metadata as md
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), requirements)
    wrong = []
    for line in open(path):
        req = line.split("#")[0].strip()
        if not req or ";" in req:
            continue
        pkg, ver = req.split("==")
        try:
            have = md.version(pkg)
        except md.PackageNotFoundError:
            have = None
        if have != ver:
            wrong.append(f"{pkg}=={ver} (installed: {have})")
    if wrong:
        print(f"{name}: {sys.executable} lacks {', '.join(wrong)}: run tests/clients/setup.sh", flush=True)
        print(f"{name}: 0 passed, 1 failed", flush=True)
        sys.exit(1)


class TestTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise TestTimeout(f"test exceeded {TEST_TIMEOUT}s")


def run_one(t):
    if getattr(t, "is_async", False) or asyncio.iscoroutinefunction(t):
        asyncio.run(asyncio.wait_for(t(), TEST_TIMEOUT))
    else:
        signal.alarm(TEST_TIMEOUT)
        try:
            t()
        finally:
            signal.alarm(0)


def main(name, banner):
    signal.signal(signal.SIGALRM, on_alarm)
    only = sys.argv[1:]
    passed = failed = 0
    print(f"{banner} against {HOST}:{PORT}", flush=True)
    for t in TESTS:
        if only and not any(o in t.__name__ for o in only):
            continue
        t0 = time.monotonic()
        try:
            run_one(t)
            passed += 1
            print(f"ok   {t.__name__} ({time.monotonic() - t0:.2f}s)", flush=True)
        except BaseException as e:  # noqa: BLE001 - report every failure and keep going
            if isinstance(e, KeyboardInterrupt):
                raise
            failed += 1
            print(f"FAIL {t.__name__}: {e!r}", flush=True)
            traceback.print_exc(limit=4, file=sys.stdout)
    if passed + failed == 0:
        print(f"{name}: no check matched {only}", flush=True)
        failed = 1
    print(f"{name}: {passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed else 0)
