"""redis-py (sync and asyncio, RESP2 and RESP3) against the server under test.

Used the way redis-py users use it: Redis(...).pubsub(), get_message(timeout=...), monitor(),
run_in_thread, pipeline(), health_check_interval, Retry for reconnects.
Prints `redis-py: N passed, M failed` last; exits 1 on any failure.

Environment (set by ../run.sh): CLIENTS_HOST, CLIENTS_PORT, CLIENTS_CTL (server.sh),
CLIENTS_SOCKET (the same server's Unix socket), CLIENTS_TLS_PORT and CLIENTS_TLS_DIR (the
same server's TLS port and the run's certificates, made by ../tls-certs.sh).
"""

import asyncio
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import traceback

import redis
import redis.asyncio
import redis.asyncio.retry
from redis.backoff import ConstantBackoff, NoBackoff
from redis.exceptions import AuthenticationError, ConnectionError, ResponseError, TimeoutError
from redis.retry import Retry

HOST = os.environ.get("CLIENTS_HOST", "127.0.0.1")
PORT = int(os.environ["CLIENTS_PORT"])
CTL = os.environ["CLIENTS_CTL"]
SOCKET = os.environ.get("CLIENTS_SOCKET")  # checked by the unix socket tests, never skipped
TLS_PORT = int(os.environ["CLIENTS_TLS_PORT"])  # checked by the TLS tests, never skipped
TLS_DIR = os.environ["CLIENTS_TLS_DIR"]
TEST_TIMEOUT = 60  # seconds per test, enforced by SIGALRM / asyncio.wait_for
WAIT = 5.0  # seconds any single expected event may take

TESTS = []


def test(fn):
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


def ctl(*args):
    out = subprocess.run([CTL, *args], check=True, capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


def client(proto, **kw):
    return redis.Redis(host=HOST, port=kw.pop("port", PORT), protocol=proto,
                       socket_timeout=10, socket_connect_timeout=5, **kw)


def aclient(proto, **kw):
    return redis.asyncio.Redis(host=HOST, port=kw.pop("port", PORT), protocol=proto,
                               socket_timeout=10, socket_connect_timeout=5, **kw)


def eq(got, want, what=""):
    if got != want:
        raise AssertionError(f"{what}: expected {want!r}, got {got!r}")


def next_msg(p, timeout=WAIT):
    """Next pub/sub message (confirmations included), failing after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no pub/sub message within {timeout}s")
        m = p.get_message(timeout=left)
        if m is not None:
            return m


async def anext_msg(p, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no pub/sub message within {timeout}s")
        m = await p.get_message(timeout=left)
        if m is not None:
            return m


def msg(kind, channel, data, pattern=None):
    return {"type": kind, "pattern": pattern, "channel": channel, "data": data}


# --------------------------------------------------------------------------- sync


@both_protocols
def connect_handshake(proto):
    # redis-py sends HELLO 3 (protocol=3) or nothing (2), then CLIENT MAINT_NOTIFICATIONS /
    # CLIENT SETINFO, whose errors it ignores. The connection must then work normally.
    r = client(proto)
    eq(r.ping(), True, "PING")
    eq(r.echo(b"x\r\ny"), b"x\r\ny", "ECHO")
    eq(r.publish("py.nobody", "m"), 0, "PUBLISH with no subscriber")
    r.close()


@both_protocols
def subscribe_several_channels(proto):
    r = client(proto)
    p = r.pubsub()
    p.subscribe("py.s.a", "py.s.b", "py.s.c")
    for i, ch in enumerate([b"py.s.a", b"py.s.b", b"py.s.c"], 1):
        eq(next_msg(p), msg("subscribe", ch, i), "confirmation")
    for ch in ("py.s.c", "py.s.a", "py.s.b", "py.s.a"):
        eq(r.publish(ch, f"to {ch}"), 1, f"PUBLISH {ch}")
    for ch in ("py.s.c", "py.s.a", "py.s.b", "py.s.a"):
        eq(next_msg(p), msg("message", ch.encode(), f"to {ch}".encode()), "delivery order")
    eq(r.publish("py.s.other", "x"), 0, "PUBLISH unsubscribed channel")
    eq(p.get_message(timeout=0.2), None, "nothing else delivered")
    p.close()
    r.close()


@both_protocols
def psubscribe_glob_patterns(proto):
    r = client(proto)
    p = r.pubsub()
    p.psubscribe("py.g.*", "py.g.?", "py.g.[a-c]x")
    for i, pat in enumerate([b"py.g.*", b"py.g.?", b"py.g.[a-c]x"], 1):
        eq(next_msg(p), msg("psubscribe", pat, i), "confirmation")
    cases = [
        ("py.g.b", {b"py.g.*", b"py.g.?"}),
        ("py.g.bx", {b"py.g.*", b"py.g.[a-c]x"}),
        ("py.g.dx", {b"py.g.*"}),
        ("py.g.long:name.with:sep", {b"py.g.*"}),
        ("py.h.b", set()),
    ]
    for channel, patterns in cases:
        eq(r.publish(channel, channel), len(patterns), f"PUBLISH {channel} receivers")
        got = set()
        for _ in patterns:
            m = next_msg(p)
            eq((m["type"], m["channel"], m["data"]), ("pmessage", channel.encode(), channel.encode()))
            got.add(m["pattern"])
        eq(got, patterns, f"patterns matching {channel}")
    eq(p.get_message(timeout=0.2), None, "no extra pmessage")
    p.close()
    r.close()


@both_protocols
def binary_empty_and_large_payloads(proto):
    r = client(proto)
    p = r.pubsub()
    p.subscribe(b"py.bin\x00\r\nch")
    eq(next_msg(p)["type"], "subscribe")
    big = bytes(range(256)) * 4096  # 1 MiB, every byte value
    payloads = [b"a\x00b\r\nc\r\n", b"", b"*3\r\n$7\r\nmessage\r\n", b"\r\n", big, b"\xff\xfe"]
    for data in payloads:
        eq(r.publish(b"py.bin\x00\r\nch", data), 1, "PUBLISH binary")
    for data in payloads:
        m = next_msg(p, timeout=10)
        eq(m["channel"], b"py.bin\x00\r\nch", "binary channel")
        if m["data"] != data:
            raise AssertionError(f"payload of {len(data)} bytes came back as {len(m['data'])} bytes, not equal")
    p.close()
    r.close()


@both_protocols
def partial_and_full_unsubscribe(proto):
    r = client(proto)
    p = r.pubsub()
    p.subscribe("py.u.a", "py.u.b", "py.u.c")
    p.psubscribe("py.u.p1.*", "py.u.p2.*")
    for _ in range(5):
        next_msg(p)
    p.unsubscribe("py.u.b")
    eq(next_msg(p), msg("unsubscribe", b"py.u.b", 4), "partial UNSUBSCRIBE")
    p.punsubscribe("py.u.p1.*")
    eq(next_msg(p), msg("punsubscribe", b"py.u.p1.*", 3), "partial PUNSUBSCRIBE")
    eq(r.publish("py.u.b", "x"), 0, "dropped channel")
    eq(r.publish("py.u.p1.x", "x"), 0, "dropped pattern")
    eq(r.publish("py.u.p2.x", "y"), 1, "kept pattern")
    eq(next_msg(p), msg("pmessage", b"py.u.p2.x", b"y", b"py.u.p2.*"))
    p.unsubscribe()  # all channels: one reply each, any order, counts falling
    got = [next_msg(p) for _ in range(2)]
    eq(sorted(m["channel"] for m in got), [b"py.u.a", b"py.u.c"], "full UNSUBSCRIBE channels")
    eq(sorted(m["data"] for m in got), [1, 2], "full UNSUBSCRIBE counts")
    p.punsubscribe()
    eq(next_msg(p), msg("punsubscribe", b"py.u.p2.*", 0), "full PUNSUBSCRIBE")
    eq(p.subscribed, False, "PubSub leaves subscribed state")
    eq(r.pubsub_numsub("py.u.a", "py.u.c"), [(b"py.u.a", 0), (b"py.u.c", 0)])
    p.close()
    r.close()


@both_protocols
def pubsub_introspection(proto):
    r = client(proto)
    base_numpat = r.pubsub_numpat()
    subs = []
    for chans in (["py.i.one", "py.i.two"], ["py.i.two"]):
        p = r.pubsub()
        p.subscribe(*chans)
        for _ in chans:
            next_msg(p)
        subs.append(p)
    p = r.pubsub()
    p.psubscribe("py.i.pat.*", "py.i.pat.?")
    next_msg(p), next_msg(p)
    p.ssubscribe("py.i.shard1", "py.i.shard2")
    eq(next_msg(p), msg("ssubscribe", b"py.i.shard1", 1))
    eq(next_msg(p), msg("ssubscribe", b"py.i.shard2", 2))
    subs.append(p)
    eq(sorted(r.pubsub_channels("py.i.*")), [b"py.i.one", b"py.i.two"], "PUBSUB CHANNELS pattern")
    eq(r.pubsub_numsub("py.i.one", "py.i.two", "py.i.none", "py.i.shard1"),
       [(b"py.i.one", 1), (b"py.i.two", 2), (b"py.i.none", 0), (b"py.i.shard1", 0)], "PUBSUB NUMSUB")
    eq(r.pubsub_numpat(), base_numpat + 2, "PUBSUB NUMPAT")
    eq(sorted(r.pubsub_shardchannels("py.i.*")), [b"py.i.shard1", b"py.i.shard2"], "PUBSUB SHARDCHANNELS")
    eq(r.pubsub_shardnumsub("py.i.shard1", "py.i.one"), [(b"py.i.shard1", 1), (b"py.i.one", 0)],
       "PUBSUB SHARDNUMSUB")
    eq(r.publish("py.i.two", "m"), 2, "PUBLISH counts both subscribers")
    eq(r.publish("py.i.pat.x", "m"), 2, "PUBLISH counts both matching patterns")
    eq(r.spublish("py.i.shard1", "m"), 1, "SPUBLISH")
    for s in subs:
        s.close()
    # Disconnect drops everything at once; poll (bounded) because close is asynchronous.
    deadline = time.monotonic() + WAIT
    while r.pubsub_channels("py.i.*") or r.pubsub_numpat() != base_numpat or r.pubsub_shardchannels("py.i.*"):
        if time.monotonic() > deadline:
            raise AssertionError("subscriptions not released after the subscribers closed")
        time.sleep(0.02)
    r.close()


@both_protocols
def ping_while_subscribed(proto):
    r = client(proto)
    p = r.pubsub()
    p.subscribe("py.ping")
    next_msg(p)
    p.ping()
    eq(next_msg(p), msg("pong", None, b""), "PING without argument")
    p.ping("hello")
    eq(next_msg(p), msg("pong", None, b"hello"), "PING with argument")
    eq(r.publish("py.ping", "after"), 1)
    eq(next_msg(p), msg("message", b"py.ping", b"after"), "subscription still live after PING")
    p.close()
    r.close()


@both_protocols
def sharded_subscribe(proto):
    r = client(proto)
    p = r.pubsub()
    p.ssubscribe("py.sh.a", "py.sh.b")
    eq(p.get_sharded_message(timeout=WAIT), msg("ssubscribe", b"py.sh.a", 1))
    eq(p.get_sharded_message(timeout=WAIT), msg("ssubscribe", b"py.sh.b", 2))
    eq(r.spublish("py.sh.b", b"\x00s"), 1, "SPUBLISH receivers")
    eq(r.publish("py.sh.b", "not shard"), 0, "PUBLISH does not reach shard subscribers")
    eq(p.get_sharded_message(timeout=WAIT), msg("smessage", b"py.sh.b", b"\x00s"))
    p.sunsubscribe("py.sh.a")
    eq(p.get_sharded_message(timeout=WAIT), msg("sunsubscribe", b"py.sh.a", 1))
    eq(r.spublish("py.sh.a", "x"), 0, "after SUNSUBSCRIBE")
    p.close()
    r.close()


@both_protocols
def get_message_timeout(proto):
    r = client(proto)
    p = r.pubsub(ignore_subscribe_messages=True)
    p.subscribe("py.t")
    # The confirmation is consumed silently; then nothing arrives and the timeout holds.
    t0 = time.monotonic()
    eq(p.get_message(timeout=0.3), None, "confirmation ignored")
    eq(p.get_message(timeout=0.3), None, "idle get_message")
    elapsed = time.monotonic() - t0
    if not 0.25 <= elapsed < 3:
        raise AssertionError(f"get_message(timeout=0.3) waited {elapsed:.2f}s")
    r.publish("py.t", "late")
    eq(next_msg(p), msg("message", b"py.t", b"late"))
    p.close()
    r.close()


@both_protocols
def pipeline_transaction_publish(proto):
    r = client(proto)
    p = r.pubsub(ignore_subscribe_messages=True)
    p.subscribe("py.pipe.a", "py.pipe.b")
    eq(p.get_message(timeout=WAIT), None)
    eq(p.get_message(timeout=0.05), None)
    with r.pipeline() as pipe:  # transaction=True by default: MULTI ... EXEC
        pipe.publish("py.pipe.a", "1").publish("py.pipe.b", "2").publish("py.pipe.none", "3")
        pipe.publish("py.pipe.a", "4")
        eq(pipe.execute(), [1, 1, 0, 1], "EXEC results")
    want = [("py.pipe.a", "1"), ("py.pipe.b", "2"), ("py.pipe.a", "4")]
    for ch, data in want:
        eq(next_msg(p), msg("message", ch.encode(), data.encode()))
    p.close()
    r.close()


@both_protocols
def run_in_thread_handlers(proto):
    r = client(proto)
    got = queue.Queue()
    p = r.pubsub()
    p.subscribe(**{"py.th.a": lambda m: got.put(("a", m["data"]))})
    p.psubscribe(**{"py.th.p.*": lambda m: got.put(("p", m["channel"], m["data"]))})
    worker = p.run_in_thread(sleep_time=0.05, daemon=True)
    try:
        # Subscriptions are confirmed asynchronously by the worker: wait on NUMSUB, bounded.
        deadline = time.monotonic() + WAIT
        while r.pubsub_numsub("py.th.a")[0][1] != 1:
            if time.monotonic() > deadline:
                raise AssertionError("worker never confirmed SUBSCRIBE")
            time.sleep(0.02)
        for i in range(20):
            eq(r.publish("py.th.a", str(i)), 1)
        eq(r.publish("py.th.p.x", "pat"), 1)
        for i in range(20):
            eq(got.get(timeout=WAIT), ("a", str(i).encode()), "handler order")
        eq(got.get(timeout=WAIT), ("p", b"py.th.p.x", b"pat"), "pattern handler")
    finally:
        worker.stop()
        worker.join(timeout=WAIT)
    eq(worker.is_alive(), False, "worker thread stopped")
    p.close()
    r.close()


@both_protocols
def health_check_interval(proto):
    r = client(proto, health_check_interval=1)
    p = r.pubsub()
    p.subscribe("py.hc")
    next_msg(p)
    sent = []
    conn = p.connection
    orig = conn.send_command

    def spy(*args, **kw):
        sent.append(args)
        return orig(*args, **kw)

    conn.send_command = spy
    # The interval is the feature under test: idle past it, then the next read must send
    # `PING redis-py-health-check` and swallow its reply.
    time.sleep(1.2)
    eq(r.publish("py.hc", "after idle"), 1)
    eq(next_msg(p), msg("message", b"py.hc", b"after idle"), "message after health check")
    eq(("PING", "redis-py-health-check") in sent, True, f"health check sent (sent: {sent})")
    eq(p.get_message(timeout=0.2), None, "health-check reply not surfaced as a message")
    p.close()
    r.close()


@both_protocols
def password_auth(proto):
    port = int(ctl("start", f"py-auth{proto}", "auto", "s3cret pw"))
    try:
        ok = client(proto, port=port, password="s3cret pw")
        eq(ok.ping(), True, "PING after AUTH / HELLO AUTH")
        p = ok.pubsub()
        p.subscribe("py.auth")
        eq(next_msg(p), msg("subscribe", b"py.auth", 1))
        eq(client(proto, port=port, password="s3cret pw").publish("py.auth", "m"), 1)
        eq(next_msg(p), msg("message", b"py.auth", b"m"))
        p.close()
        ok.close()
        try:
            client(proto, port=port, password="wrong", retry=Retry(NoBackoff(), 0)).ping()
            raise AssertionError("wrong password accepted")
        except AuthenticationError as e:
            if "WRONGPASS" not in str(e) and "invalid" not in str(e):
                raise AssertionError(f"unexpected wrong-password error text: {e}")
        anon = client(proto, port=port, retry=Retry(NoBackoff(), 0))
        try:
            anon.publish("py.auth", "m")
            raise AssertionError("unauthenticated PUBLISH accepted")
        except (AuthenticationError, ResponseError) as e:
            # RESP2: the command gets -NOAUTH; RESP3: the bare HELLO 3 is refused with -NOAUTH.
            want = "Authentication required." if proto == 2 else "HELLO must be called with the client already authenticated"
            eq(str(e).startswith(want), True, f"NOAUTH error text, got {e!r}")
        anon.close()
    finally:
        ctl("stop", f"py-auth{proto}")


# The NOPERM text for a denied channel: respub follows Redis 7.2; the reference
# redis-server (Debian 7.0.15) still says it the 7.0 way.
NOPERM_CHANNEL = {
    "respub": "No permissions to access a channel",
    "redis": "this user has no permissions to access one of the channels used as arguments",
}[os.environ.get("CLIENTS_SERVER", "respub")]


@both_protocols
def acl_user_with_username(proto):
    """An ACL user with channel permissions, as redis-py's users connect: username=."""
    name = f"py-acl-{proto}"
    admin = client(proto)
    admin.execute_command("ACL", "SETUSER", name, "reset", "on", ">pw one", "&py.acl.*",
                          "+@pubsub", "+ping", "+acl|whoami")
    try:
        u = client(proto, username=name, password="pw one")
        eq(u.ping(), True, "PING as the ACL user (AUTH user pass / HELLO 3 AUTH user pass)")
        eq(u.execute_command("ACL", "WHOAMI"), name.encode(), "ACL WHOAMI")
        p = u.pubsub()
        p.subscribe("py.acl.news")
        eq(next_msg(p), msg("subscribe", b"py.acl.news", 1))
        eq(u.publish("py.acl.news", "hello"), 1, "PUBLISH to an allowed channel")
        eq(next_msg(p), msg("message", b"py.acl.news", b"hello"))
        try:
            u.publish("py.other", "x")
            raise AssertionError("PUBLISH to a denied channel accepted")
        except redis.exceptions.NoPermissionError as e:
            eq(str(e), NOPERM_CHANNEL, "NOPERM text for a denied channel")
        users = [c.get("user") for c in admin.client_list()]
        eq(users.count(name), 2, f"CLIENT LIST user= (got {users})")
        try:
            client(proto, username=name, password="wrong", retry=Retry(NoBackoff(), 0)).ping()
            raise AssertionError("wrong password accepted")
        except AuthenticationError as e:
            eq("WRONGPASS" in str(e) or "invalid username-password" in str(e), True, f"error text {e!r}")
        p.close()
        u.close()
    finally:
        admin.execute_command("ACL", "DELUSER", name)
        admin.close()


@both_protocols
def resubscribe_after_restart(proto):
    name = f"py-restart{proto}"
    port = int(ctl("start", name))
    try:
        retry = Retry(ConstantBackoff(0.1), 50)
        r = client(proto, port=port, retry=retry, retry_on_error=[ConnectionError, TimeoutError])
        p = r.pubsub()
        p.subscribe("py.rs.a", "py.rs.b")
        p.psubscribe("py.rs.p.*")
        for _ in range(3):
            next_msg(p)
        ctl("restart", name)
        # redis-py reconnects on the next read and its on_connect callback re-sends
        # SUBSCRIBE and PSUBSCRIBE; the confirmations show up as ordinary messages.
        seen = []
        deadline = time.monotonic() + 20
        while len(seen) < 3:
            if time.monotonic() > deadline:
                raise AssertionError(f"resubscribe confirmations missing, got {seen}")
            try:
                m = p.get_message(timeout=0.5)
            except (ConnectionError, TimeoutError):
                time.sleep(0.1)
                continue
            if m:
                seen.append((m["type"], m["channel"]))
        eq(sorted(seen), [("psubscribe", b"py.rs.p.*"), ("subscribe", b"py.rs.a"), ("subscribe", b"py.rs.b")])
        eq(r.publish("py.rs.b", "back"), 1, "PUBLISH after restart")
        eq(r.publish("py.rs.p.x", "pback"), 1)
        eq(next_msg(p), msg("message", b"py.rs.b", b"back"))
        eq(next_msg(p), msg("pmessage", b"py.rs.p.x", b"pback", b"py.rs.p.*"))
        p.close()
        r.close()
    finally:
        ctl("stop", name)


# --------------------------------------------------------------------------- asyncio


@both_protocols
async def async_subscribe_and_patterns(proto):
    r = aclient(proto)
    eq(await r.ping(), True)
    p = r.pubsub()
    await p.subscribe("apy.a", "apy.b")
    await p.psubscribe("apy.p.[0-9]?")
    eq(await anext_msg(p), msg("subscribe", b"apy.a", 1))
    eq(await anext_msg(p), msg("subscribe", b"apy.b", 2))
    eq(await anext_msg(p), msg("psubscribe", b"apy.p.[0-9]?", 3))
    eq(await r.publish("apy.b", b"\x00\r\n"), 1)
    eq(await r.publish("apy.p.7z", ""), 1)
    eq(await r.publish("apy.p.z7", "no"), 0)
    eq(await anext_msg(p), msg("message", b"apy.b", b"\x00\r\n"))
    eq(await anext_msg(p), msg("pmessage", b"apy.p.7z", b"", b"apy.p.[0-9]?"))
    await p.ping()
    eq(await anext_msg(p), msg("pong", None, b""), "PING while subscribed")
    await p.unsubscribe("apy.a")
    eq(await anext_msg(p), msg("unsubscribe", b"apy.a", 2))
    await p.unsubscribe()
    eq(await anext_msg(p), msg("unsubscribe", b"apy.b", 1))
    await p.punsubscribe()
    eq(await anext_msg(p), msg("punsubscribe", b"apy.p.[0-9]?", 0))
    t0 = time.monotonic()
    eq(await p.get_message(timeout=0.3), None, "get_message timeout when idle")
    eq(time.monotonic() - t0 < 3, True, "timeout bounded")
    await p.aclose()
    await r.aclose()


@both_protocols
async def async_hello_auth(proto):
    port = int(ctl("start", f"apy-auth{proto}", "auto", "pw"))
    try:
        r = aclient(proto, port=port, password="pw")
        eq(await r.ping(), True)
        await r.aclose()
        bad = aclient(proto, port=port, password="nope", retry=redis.asyncio.retry.Retry(NoBackoff(), 0))
        try:
            await bad.ping()
            raise AssertionError("wrong password accepted")
        except AuthenticationError:
            pass
        finally:
            await bad.aclose()
    finally:
        ctl("stop", f"apy-auth{proto}")


@test
async def async_fanout_50_subscribers_5_publishers():
    """50 subscribers (RESP2 and RESP3, channel and pattern) each get all 1,000 messages
    from 5 concurrent publishers, with no loss and each publisher's order kept."""
    n_pub, per_pub, channel = 5, 200, "apy.fan.ch"
    subs = []
    for i in range(50):
        r = aclient(2 if i % 2 else 3)
        p = r.pubsub()
        if i < 40:
            await p.subscribe(channel)
        else:
            await p.psubscribe("apy.fan.*")
        m = await anext_msg(p)
        eq(m["data"], 1, "confirmation count")
        subs.append((r, p))

    async def publisher(k):
        r = aclient(3 if k % 2 else 2)
        counts = []
        for seq in range(per_pub):
            counts.append(await r.publish(channel, f"{k}:{seq}"))
        await r.aclose()
        return counts

    async def subscriber(p):
        last = [-1] * n_pub
        for _ in range(n_pub * per_pub):
            m = await anext_msg(p, timeout=30)
            k, seq = map(int, m["data"].split(b":"))
            if seq != last[k] + 1:
                raise AssertionError(f"publisher {k}: got seq {seq} after {last[k]}")
            last[k] = seq
        return last

    results = await asyncio.gather(*(publisher(k) for k in range(n_pub)),
                                   *(subscriber(p) for _, p in subs))
    for counts in results[:n_pub]:
        eq(set(counts), {50}, "every PUBLISH reached 50 subscribers")
    for last in results[n_pub:]:
        eq(last, [per_pub - 1] * n_pub, "every subscriber got every message")
    for r, p in subs:
        eq(await p.get_message(timeout=0.01), None, "no extra message")
        await p.aclose()
        await r.aclose()


# --------------------------------------------------------------------------- unix socket


def unix_socket():
    if not SOCKET:
        raise AssertionError("CLIENTS_SOCKET is not set: run this suite through ../run.sh")
    return SOCKET


def check_unix_client_info(info, sock):
    """CLIENT INFO of a Unix-socket client, as redis-server prints it."""
    eq(info["addr"], f"{sock}:0", "addr")
    eq(info["laddr"], f"{sock}:0", "laddr")
    eq("U" in info["flags"], True, f"flag U in {info['flags']!r}")


@both_protocols
def unix_socket_subscriber_tcp_publisher(proto):
    # redis.Redis(unix_socket_path=...): the documented way to use a Unix socket.
    sock = unix_socket()
    u = redis.Redis(unix_socket_path=sock, protocol=proto, socket_timeout=10)
    eq(u.ping(), True, "PING over the socket")
    check_unix_client_info(u.client_info(), sock)
    p = u.pubsub()
    p.subscribe("py.unix.ch")
    eq(next_msg(p), msg("subscribe", b"py.unix.ch", 1), "confirmation")
    t = client(proto)
    eq(t.publish("py.unix.ch", b"over tcp"), 1, "TCP PUBLISH reaches the Unix subscriber")
    eq(next_msg(p), msg("message", b"py.unix.ch", b"over tcp"), "delivery")
    eq(u.publish("py.unix.ch", b"over unix"), 1, "Unix PUBLISH")
    eq(next_msg(p), msg("message", b"py.unix.ch", b"over unix"), "delivery")
    eq(len([c for c in t.client_list() if c["addr"] == f"{sock}:0"]), 2,
       "CLIENT LIST from TCP shows both Unix clients")
    p.close()
    u.close()
    t.close()


@both_protocols
async def async_unix_socket_pubsub(proto):
    sock = unix_socket()
    u = redis.asyncio.Redis(unix_socket_path=sock, protocol=proto, socket_timeout=10)
    check_unix_client_info(await u.client_info(), sock)
    p = u.pubsub()
    await p.psubscribe("apy.unix.*")
    eq(await anext_msg(p), msg("psubscribe", b"apy.unix.*", 1))
    t = aclient(proto)
    eq(await t.publish("apy.unix.x", b"hi"), 1)
    eq(await anext_msg(p), msg("pmessage", b"apy.unix.x", b"hi", b"apy.unix.*"))
    await p.aclose()
    await u.aclose()
    await t.aclose()


# --------------------------------------------------------------------------- monitor


@both_protocols
def monitor_shows_other_clients_commands(proto):
    """r.monitor(), as operators use it to watch pub/sub traffic: each command another
    client runs, parsed by redis-py's own Monitor (time, db, address, quoted args)."""
    r = client(proto)
    other = client(proto)
    other.ping()  # its handshake (HELLO, CLIENT SETINFO) happens before the monitor starts
    with r.monitor() as m:
        eq(other.publish("py.mon", 'say "hi"\n'), 0, "PUBLISH while monitored")
        got = m.next_command()
        eq(got["command"], 'PUBLISH py.mon say "hi"\\n', "command as redis-py parses it")
        eq(got["db"], 0, "db")
        eq(got["client_type"], "tcp", "client type")
        eq(got["client_address"], "127.0.0.1", "client address")
        if abs(got["time"] - time.time()) > 60:
            raise AssertionError(f"monitor time {got['time']} is not now")
        other.execute_command("SELECT", 1)
        eq(m.next_command()["command"], "SELECT 1", "SELECT")
    r.close()
    other.close()


# --------------------------------------------------------------------------- TLS (issue 7)


def tls_client(proto, **kw):
    """redis-py over TLS the way its docs show it: ssl=True with the CA to trust."""
    return client(proto, port=TLS_PORT, ssl=True,
                  ssl_ca_certs=kw.pop("ca", f"{TLS_DIR}/ca.crt"), **kw)


@both_protocols
def tls_subscriber_plain_publisher(proto):
    # The server serves plain and TLS ports at once; a TLS subscriber gets what a plain
    # publisher sends, including a 1 MiB message, and the other way round.
    t = tls_client(proto)
    eq(t.ping(), True, "PING over TLS")
    p = t.pubsub()
    p.subscribe("py.tls.a")
    eq(next_msg(p), msg("subscribe", b"py.tls.a", 1), "confirmation over TLS")
    plain = client(proto)
    big = bytes(range(256)) * 4096  # 1 MiB, every byte value
    for data in (b"hello", big, b"after"):
        eq(plain.publish("py.tls.a", data), 1, "plain PUBLISH to a TLS subscriber")
        eq(next_msg(p), msg("message", b"py.tls.a", data), "delivery over TLS")
    ps = plain.pubsub()
    ps.subscribe("py.tls.b")
    eq(next_msg(ps), msg("subscribe", b"py.tls.b", 1), "plain confirmation")
    eq(t.publish("py.tls.b", big), 1, "TLS PUBLISH of 1 MiB")
    eq(next_msg(ps), msg("message", b"py.tls.b", big), "1 MiB from a TLS publisher")
    for c in (p, ps):
        c.close()
    t.close()
    plain.close()


@test
def tls_mutual_client_certificate():
    # tls-auth-clients optional: a client certificate from the CA is accepted.
    t = tls_client(3, ssl_certfile=f"{TLS_DIR}/client.crt", ssl_keyfile=f"{TLS_DIR}/client.key")
    eq(t.ping(), True, "PING with a client certificate")
    t.close()


@test
def tls_wrong_ca_fails_verification():
    t = tls_client(2, ca=f"{TLS_DIR}/other-ca.crt")
    try:
        t.ping()
    except ConnectionError as e:
        if "CERTIFICATE_VERIFY_FAILED" not in str(e):
            raise AssertionError(f"expected a verification failure, got {e!r}")
    else:
        raise AssertionError("PING succeeded although the server's CA is not trusted")
    finally:
        t.close()


@both_protocols
async def async_tls_pubsub(proto):
    a = aclient(proto, port=TLS_PORT, ssl=True, ssl_ca_certs=f"{TLS_DIR}/ca.crt")
    p = a.pubsub()
    await p.psubscribe("py.atls.*")
    eq(await anext_msg(p), msg("psubscribe", b"py.atls.*", 1), "confirmation")
    for i in range(100):
        eq(await a.publish(f"py.atls.{i}", f"m{i}"), 1, "PUBLISH over TLS")
    for i in range(100):
        eq(await anext_msg(p), msg("pmessage", f"py.atls.{i}".encode(), f"m{i}".encode(),
                                   b"py.atls.*"), "in order over TLS")
    await p.aclose()
    await a.aclose()


# --------------------------------------------------------------------------- runner


class TestTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise TestTimeout(f"test exceeded {TEST_TIMEOUT}s")


def run_one(t):
    if getattr(t, "is_async", False) or asyncio.iscoroutinefunction(t):
        coro = t()
        asyncio.run(asyncio.wait_for(coro, TEST_TIMEOUT))
    else:
        signal.alarm(TEST_TIMEOUT)
        try:
            t()
        finally:
            signal.alarm(0)


def main():
    signal.signal(signal.SIGALRM, on_alarm)
    only = sys.argv[1:]
    passed = failed = 0
    print(f"redis-py {redis.__version__} against {HOST}:{PORT}", flush=True)
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
    print(f"redis-py: {passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
