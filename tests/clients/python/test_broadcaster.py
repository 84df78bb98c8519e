"""encode's `broadcaster` (Redis backend) against the server under test.

Used the way Starlette/FastAPI chat examples use it: one Broadcast("redis://...") per server
process, `async with broadcast.subscribe(channel) as subscriber`, `broadcast.publish`,
several Broadcast instances standing for several processes on one Redis.

broadcaster 0.3.1 delivers nothing with redis-py 8.x (on redis-server too), so this suite
runs in its own venv (.venv-rp7, requirements-rp7.txt) with redis-py 7.

Prints `broadcaster: N passed, M failed` last; exits 1 on any failure.
"""

import asyncio
import contextlib
from importlib.metadata import version

from harness import HOST, PORT, WAIT, both_protocols, eq, main, numsub, poll, test, within, require

require("requirements-rp7.txt", "broadcaster")  # before importing the pinned packages

import redis  # noqa: E402
import redis.asyncio  # noqa: E402
from broadcaster import Broadcast, Event  # noqa: E402


# Pause before each "right after" round so the server is idle when the SUBSCRIBE arrives
# (see test_channels.py and the README: redis-server itself may reorder back-to-back).
IDLE = 0.005


def url(proto):
    return f"redis://{HOST}:{PORT}/0?protocol={proto}"


def raw():
    return redis.asyncio.Redis(host=HOST, port=PORT, socket_timeout=10, socket_connect_timeout=5)


async def settle(r, counts):
    async def ok():
        got = dict(await r.pubsub_numsub(*counts))
        return all(got[c.encode()] == n for c, n in counts.items())
    await poll(ok, f"PUBSUB NUMSUB {counts}")


async def get(sub, what="event"):
    return await within(sub.get(), what)


async def drain_to(sub, marker):
    got = []
    while True:
        ev = await get(sub, f"waiting for {marker!r}")
        if ev.message == marker:
            return got
        got.append(ev)


@both_protocols
async def publish_subscribe_across_instances(proto):
    r = raw()
    async with Broadcast(url(proto)) as b1, Broadcast(url(proto)) as b2:
        async with b1.subscribe("bc.chat") as sub:
            await settle(r, {"bc.chat": 1})
            for i in range(20):
                await b2.publish("bc.chat", f"hello {i}")
            for i in range(20):
                eq(await get(sub), Event("bc.chat", f"hello {i}"), "from the other instance, in order")
            await b1.publish("bc.chat", "own")
            eq(await get(sub), Event("bc.chat", "own"), "from the same instance")
        await settle(r, {"bc.chat": 0})  # leaving the block UNSUBSCRIBEs
        eq(await r.publish("bc.chat", "nobody"), 0, "PUBLISH after unsubscribe")
    await r.aclose()


@both_protocols
async def several_channels_and_subscribers(proto):
    r = raw()
    async with Broadcast(url(proto)) as b1, Broadcast(url(proto)) as b2, Broadcast(url(proto)) as pub:
        async with contextlib.AsyncExitStack() as stack:
            subs = {}
            for name, bc, ch in (("b1.r1", b1, "bc.room.1"), ("b1.r1bis", b1, "bc.room.1"),
                                 ("b1.r2", b1, "bc.room.2"), ("b1.r3", b1, "bc.room.3"),
                                 ("b2.r2", b2, "bc.room.2")):
                subs[name] = (ch, await stack.enter_async_context(bc.subscribe(ch)))
            # one SUBSCRIBE per instance and channel, however many local subscribers
            await settle(r, {"bc.room.1": 1, "bc.room.2": 2, "bc.room.3": 1})
            sent = [(f"bc.room.{1 + (i * 7) % 3}", f"m{i}") for i in range(30)]
            for ch, m in sent:
                await pub.publish(ch, m)
            for ch in ("bc.room.1", "bc.room.2", "bc.room.3"):
                await pub.publish(ch, "end")
            for name, (ch, sub) in subs.items():
                eq(await drain_to(sub, "end"), [Event(c, m) for c, m in sent if c == ch], name)
    await settle(r, {"bc.room.1": 0, "bc.room.2": 0, "bc.room.3": 0})
    await r.aclose()


@test
async def unsubscribe_keeps_other_subscribers():
    r = raw()
    async with Broadcast(url(2)) as b1, Broadcast(url(3)) as pub:
        async with b1.subscribe("bc.u.a") as keep, b1.subscribe("bc.u.b"):
            async with b1.subscribe("bc.u.a") as leaving:
                await settle(r, {"bc.u.a": 1, "bc.u.b": 1})
                await pub.publish("bc.u.a", "both")
                eq(await get(leaving), Event("bc.u.a", "both"), "leaving subscriber")
                eq(await get(keep), Event("bc.u.a", "both"), "kept subscriber")
            eq(await numsub(r, "bc.u.a"), 1, "a local subscriber is left: still subscribed")
            await pub.publish("bc.u.a", "one")
            eq(await get(keep), Event("bc.u.a", "one"), "kept subscriber after the other left")
        await settle(r, {"bc.u.a": 0, "bc.u.b": 0})
        async with b1.subscribe("bc.u.b") as again:  # subscribe again on the same PubSub
            await settle(r, {"bc.u.b": 1})
            await pub.publish("bc.u.b", "again")
            eq(await get(again), Event("bc.u.b", "again"), "resubscribed")
    await r.aclose()


@both_protocols
async def text_payloads(proto):
    r = raw()
    payloads = ["", "h\u00e9llo \u2713 \u65e5\u672c \U0001f600", "a\r\nb\r\n", "*3\r\n$7\r\nmessage\r\n",
                "+OK\r\n-ERR x\r\n", "nul\x00inside", "x" * 200_000]
    async with Broadcast(url(proto)) as b1, Broadcast(url(proto)) as b2:
        async with b1.subscribe("bc.text") as sub:
            await settle(r, {"bc.text": 1})
            for p in payloads:
                await b2.publish("bc.text", p)
            for p in payloads:
                ev = await get(sub)
                if ev != Event("bc.text", p):
                    raise AssertionError(f"payload of {len(p)} chars came back as {len(ev.message)} chars, not equal")
    await r.aclose()


@test
async def fanout_3_publishers_2_instances():
    """Two server instances with two WebSocket-style subscribers each; three publisher
    instances send 300 messages each at once: every subscriber gets all 900, each
    publisher's in order."""
    n_pub, per_pub, ch = 3, 300, "bc.fan"
    r = raw()
    async with contextlib.AsyncExitStack() as stack:
        subs_bc = [await stack.enter_async_context(Broadcast(url(2 + i % 2))) for i in range(2)]
        pubs = [await stack.enter_async_context(Broadcast(url(3 - k % 2))) for k in range(n_pub)]
        subs = [await stack.enter_async_context(bc.subscribe(ch)) for bc in subs_bc for _ in range(2)]
        await settle(r, {ch: 2})

        async def publisher(k):
            for seq in range(per_pub):
                await pubs[k].publish(ch, f"{k}:{seq}")

        async def subscriber(sub):
            last = [-1] * n_pub
            for _ in range(n_pub * per_pub):
                ev = await within(sub.get(), "fan-out event", 30)
                k, seq = map(int, ev.message.split(":"))
                if seq != last[k] + 1:
                    raise AssertionError(f"publisher {k}: got seq {seq} after {last[k]}")
                last[k] = seq
            return last

        results = await asyncio.gather(*(publisher(k) for k in range(n_pub)), *(subscriber(s) for s in subs))
        for last in results[n_pub:]:
            eq(last, [per_pub - 1] * n_pub, "every subscriber got every message")
    await r.aclose()


@both_protocols
async def publish_right_after_subscribe_on_other_instance(proto):
    """A user joins (subscribe on instance 1) and another user posts on instance 2 at once:
    broadcaster does not wait for the SUBSCRIBE confirmation."""
    rounds = 60
    async with Broadcast(url(proto)) as b1, Broadcast(url(proto)) as b2:
        await b2.publish("bc.warmup", "w")  # b2's connection is up
        async with contextlib.AsyncExitStack() as stack:
            subs = []
            for i in range(rounds):
                await asyncio.sleep(IDLE)
                subs.append(await stack.enter_async_context(b1.subscribe(f"bc.race{proto}.{i}")))
                await b2.publish(f"bc.race{proto}.{i}", f"r{i}")

            async def one(sub):
                try:
                    return await asyncio.wait_for(sub.get(), WAIT)
                except asyncio.TimeoutError:
                    return None

            got = await asyncio.gather(*(one(s) for s in subs))
            lost = [i for i, ev in enumerate(got) if ev is None]
            if lost:
                raise AssertionError(f"{len(lost)} of {rounds} publishes right after subscribe lost: rounds {lost}")
            eq(got, [Event(f"bc.race{proto}.{i}", f"r{i}") for i in range(rounds)], "events")


@test
async def disconnect_releases_subscriptions():
    r = raw()
    b1 = Broadcast(url(3))
    await b1.connect()
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(b1.subscribe("bc.d.1"))
        await stack.enter_async_context(b1.subscribe("bc.d.2"))
        await settle(r, {"bc.d.1": 1, "bc.d.2": 1})
        await b1.disconnect()  # the app shuts down with subscribers still open
        await settle(r, {"bc.d.1": 0, "bc.d.2": 0})
        stack.pop_all()  # their UNSUBSCRIBE would go to a closed connection
    await r.aclose()


if __name__ == "__main__":
    main("broadcaster", f"broadcaster {version('broadcaster')}, redis-py {redis.__version__}")
