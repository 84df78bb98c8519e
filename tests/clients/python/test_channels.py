"""Django Channels' Redis pub/sub channel layer (channels_redis.pubsub.RedisPubSubChannelLayer)
against the server under test.

Used the way Channels deployments use it: several layer instances standing for several
Django/ASGI server processes on one Redis, group_add / group_send / group_discard across
them, channel send/receive across them, msgpack-serialised payloads, flush and the
flush-on-loop-close, and a real AsyncJsonWebsocketConsumer chat room driven by
an ASGI websocket driver (asgiref.testing) on two channel-layer aliases.

The layer writes SUBSCRIBE without waiting for its confirmation, so a group_send from
another process right after a group_add races the subscription by design;
group_send_right_after_group_add checks that redis-server's behaviour (always delivered)
holds.

The classic channels_redis.core.RedisChannelLayer needs sorted sets, lists and EVAL:
out of scope for a pub/sub-only server.

Prints `channels-redis: N passed, M failed` last; exits 1 on any failure.
"""

import asyncio
import json
import os
import time

from harness import HOST, PORT, WAIT, both_protocols, eq, main, numsub, poll, test, within, require

require("requirements-frameworks.txt", "channels-redis")  # before importing the pinned packages

import django  # noqa: E402
from django.conf import settings  # noqa: E402


URL = f"redis://{HOST}:{PORT}"
settings.configure(
    INSTALLED_APPS=["channels"],
    CHANNEL_LAYERS={
        # Two aliases stand for two server processes; they use both RESP versions.
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                    "CONFIG": {"hosts": [{"address": URL, "protocol": 3}]}},
        "other": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                  "CONFIG": {"hosts": [{"address": URL, "protocol": 2}]}},
    },
)
django.setup()

import channels  # noqa: E402
import channels_redis  # noqa: E402
import msgpack  # noqa: E402
import redis  # noqa: E402
import redis.asyncio  # noqa: E402
from asgiref.testing import ApplicationCommunicator  # noqa: E402
from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels_redis.pubsub import RedisPubSubChannelLayer  # noqa: E402


# Pause before each "right after" round so the server is idle when the SUBSCRIBE arrives.
IDLE = 0.005


def layer(proto):
    return RedisPubSubChannelLayer(hosts=[{"address": URL, "protocol": proto}])


def raw():
    return redis.asyncio.Redis(host=HOST, port=PORT, socket_timeout=10, socket_connect_timeout=5)


def group_channel(group):
    return f"asgi__group__{group}"  # RedisPubSubLoopLayer._get_group_channel_name, prefix "asgi"


async def settle(r, counts):
    """Wait (bounded) until PUBSUB NUMSUB shows exactly the given subscriber counts."""
    async def ok():
        got = dict(await r.pubsub_numsub(*counts))
        return all(got[c.encode()] == n for c, n in counts.items())
    await poll(ok, f"PUBSUB NUMSUB {counts}")


async def recv(lay, ch, what="receive"):
    return await within(lay.receive(ch), f"{what} on {ch}")


async def drain_to_marker(lay, ch, marker):
    """Everything that arrives on ch before `marker` (which must arrive)."""
    got = []
    while True:
        m = await recv(lay, ch, "waiting for the end marker")
        if m == marker:
            return got
        got.append(m)


@both_protocols
async def send_receive_across_layers(proto):
    a, b, r = layer(proto), layer(proto), raw()
    ch = await a.new_channel()
    if not ch.startswith("asgispecific."):
        raise AssertionError(f"unexpected channel name {ch!r}")
    await settle(r, {ch: 1})
    msgs = [{"type": "chat.message", "n": i, "text": f"m{i}"} for i in range(20)]
    for m in msgs:
        await b.send(ch, m)
    for m in msgs:
        eq(await recv(a, ch), m, "message from the other layer, in order")
    ch2 = await b.new_channel("reply.")
    await settle(r, {ch2: 1})
    await a.send(ch2, {"type": "reply", "to": ch})
    eq(await recv(b, ch2), {"type": "reply", "to": ch}, "reverse direction")
    await a.flush()
    await b.flush()
    await r.aclose()


@both_protocols
async def groups_across_layers(proto):
    a, b, r = layer(proto), layer(proto), raw()
    a1, a2, b1 = await a.new_channel(), await a.new_channel(), await b.new_channel()
    for grp, ch, lay in (("room1", a1, a), ("room1", a2, a), ("room1", b1, b),
                         ("room2", a2, a), ("room2", b1, b)):
        await lay.group_add(grp, ch)
    # One subscription per layer (process) and group, however many channels joined it.
    await settle(r, {group_channel("room1"): 2, group_channel("room2"): 2, a1: 1, b1: 1})
    eq(sorted(await r.pubsub_channels("asgi__group__room*")),
       [b"asgi__group__room1", b"asgi__group__room2"], "PUBSUB CHANNELS")
    await a.group_send("room1", {"type": "room.msg", "room": 1})
    await b.group_send("room2", {"type": "room.msg", "room": 2})
    # An end marker from each publisher, after its group_send: once both arrived, every
    # group message has arrived too (one publisher's messages keep their order).
    markers = [{"type": "end", "from": "a"}, {"type": "end", "from": "b"}]
    for ch in (a1, a2, b1):
        await a.send(ch, markers[0])
        await b.send(ch, markers[1])
    expected = {a1: [{"type": "room.msg", "room": 1}],
                a2: [{"type": "room.msg", "room": 1}, {"type": "room.msg", "room": 2}],
                b1: [{"type": "room.msg", "room": 1}, {"type": "room.msg", "room": 2}]}
    for ch, lay in ((a1, a), (a2, a), (b1, b)):
        got, left = [], list(markers)
        while left:
            m = await recv(lay, ch, "waiting for the end markers")
            if m in left:
                left.remove(m)
            else:
                got.append(m)
        # room1 and room2 came from different publishers: no order between them
        eq(sorted(got, key=lambda m: m["room"]), expected[ch], f"group messages for {ch}")
    await a.flush()
    await b.flush()
    await r.aclose()


@both_protocols
async def group_discard_across_layers(proto):
    a, b, c, r = layer(proto), layer(proto), layer(proto), raw()
    a1, a2, b1 = await a.new_channel(), await a.new_channel(), await b.new_channel()
    for ch, lay in ((a1, a), (a2, a), (b1, b)):
        await lay.group_add("disc", ch)
    g = group_channel("disc")
    await settle(r, {g: 2})
    marker = {"type": "end"}

    async def round_(n, want):
        await c.group_send("disc", {"type": "d", "n": n})
        for ch in (a1, a2, b1):
            await c.send(ch, marker)
        for ch, lay in ((a1, a), (a2, a), (b1, b)):
            got = await drain_to_marker(lay, ch, marker)
            eq(got, [{"type": "d", "n": n}] if ch in want else [], f"round {n}, {ch}")

    await round_(1, {a1, a2, b1})
    await a.group_discard("disc", a1)  # a2 still in the group: layer a stays subscribed
    await round_(2, {a2, b1})
    eq(await numsub(r, g), 2, "layer a still subscribed for a2")
    await a.group_discard("disc", a2)  # last local member: layer a UNSUBSCRIBEs
    await settle(r, {g: 1})
    await round_(3, {b1})
    await a.group_discard("disc", a2)  # not a member any more: no error, no change
    await b.group_discard("disc", b1)
    await settle(r, {g: 0})
    await round_(4, set())
    for lay in (a, b, c):
        await lay.flush()
    await r.aclose()


@test
async def several_groups_one_publisher():
    """A third layer (a worker process) sends to 12 groups whose members are spread over
    two layers; each channel gets exactly its groups' messages, in publish order."""
    a, b, c, r = layer(3), layer(2), layer(3), raw()
    chans = [(await a.new_channel(), a) for _ in range(4)] + [(await b.new_channel(), b) for _ in range(4)]
    groups = [f"g{k}" for k in range(12)]
    members = {g: [i for i in range(8) if (i * 5 + k) % 3 == 0] for k, g in enumerate(groups)}
    for g, idx in members.items():
        for i in idx:
            await chans[i][1].group_add(g, chans[i][0])
    await settle(r, {group_channel(g): len({id(chans[i][1]) for i in idx}) for g, idx in members.items()})
    expected = {i: [] for i in range(8)}
    for rnd in range(3):
        for g in groups:
            m = {"type": "group.msg", "group": g, "round": rnd}
            await c.group_send(g, m)
            for i in members[g]:
                expected[i].append(m)
    marker = {"type": "end"}
    for ch, _ in chans:
        await c.send(ch, marker)
    for i, (ch, lay) in enumerate(chans):
        eq(await drain_to_marker(lay, ch, marker), expected[i], f"channel {i}")
    for lay in (a, b, c):
        await lay.flush()
    await r.aclose()


@both_protocols
async def msgpack_binary_payloads(proto):
    """The layer msgpack-encodes messages: the PUBLISH payload is arbitrary bytes."""
    a, b, r = layer(proto), layer(proto), raw()
    big = os.urandom(256 * 1024)
    messages = [
        {"type": "blob", "all_bytes": bytes(range(256)) * 4, "big": big},
        {"type": "tricky", "crlf": b"\r\n*3\r\n$7\r\nmessage\r\n", "nul": "a\x00b\r\n",
         "text": "h\u00e9llo \u2713 \u65e5\u672c", "resp": "+OK\r\n-ERR x\r\n"},
        {"type": "nested", "v": [1, -2, 2**40, 1.5, None, True, {"k": [b"\xff\xfe", ""]}]},
        {"type": "e"},
        {},
    ]
    ch = await a.new_channel()
    await a.group_add("bin", ch)
    spy = r.pubsub()
    await spy.subscribe(group_channel("bin"))
    eq((await spy.get_message(timeout=WAIT))["type"], "subscribe", "spy confirmation")
    await settle(r, {ch: 1, group_channel("bin"): 2})
    for m in messages:
        await b.group_send("bin", m)
        await b.send(ch, m)
    for m in messages:
        eq(await recv(a, ch), m, "group_send payload")
        eq(await recv(a, ch), m, "send payload")
        raw_msg = await spy.get_message(timeout=WAIT)
        eq(raw_msg["type"], "message", "spy message")
        if raw_msg["data"] != msgpack.packb(m):
            raise AssertionError(f"wire payload of {len(raw_msg['data'])} bytes is not msgpack.packb(message)")
    await spy.aclose()
    await a.flush()
    await b.flush()
    await r.aclose()


@both_protocols
async def group_send_right_after_group_add(proto):
    """Process A joins a group and process B sends to it at once, without waiting for A's
    SUBSCRIBE confirmation (the layer never waits for it). redis-server, idle when the
    SUBSCRIBE arrives, runs it before the PUBLISH that arrives after it, so the message
    arrives. (Back to back with no idle moment, redis-server itself may run the PUBLISH
    first, about 1 in 1,000 rounds: see README, so each round starts from an idle server,
    as a user joining a room does.)"""
    a, b, r = layer(proto), layer(proto), raw()
    await b.send("asgi.warmup", {"type": "warmup"})  # b's publish connection is up
    rounds, pending = 100, []
    for i in range(rounds):
        await asyncio.sleep(IDLE)
        ch = await a.new_channel()
        await a.group_add(f"race{proto}.{i}", ch)
        await b.group_send(f"race{proto}.{i}", {"type": "race", "i": i})
        pending.append(ch)

    async def get(i, ch):
        try:
            return await asyncio.wait_for(a.receive(ch), WAIT)
        except asyncio.TimeoutError:
            return None

    got = await asyncio.gather(*(get(i, ch) for i, ch in enumerate(pending)))
    lost = [i for i, m in enumerate(got) if m is None]
    if lost:
        raise AssertionError(f"{len(lost)} of {rounds} group_send right after group_add lost: rounds {lost}")
    eq(got, [{"type": "race", "i": i} for i in range(rounds)], "payloads")
    await a.flush()
    await b.flush()
    await r.aclose()


@both_protocols
async def send_right_after_new_channel(proto):
    """Same race on a specific channel: B sends to A's channel as soon as A created it."""
    a, b, r = layer(proto), layer(proto), raw()
    await b.send("asgi.warmup", {"type": "warmup"})
    rounds, pending = 100, []
    for i in range(rounds):
        await asyncio.sleep(IDLE)
        ch = await a.new_channel()
        await b.send(ch, {"type": "race", "i": i})
        pending.append(ch)

    async def get(ch):
        try:
            return await asyncio.wait_for(a.receive(ch), WAIT)
        except asyncio.TimeoutError:
            return None

    got = await asyncio.gather(*(get(ch) for ch in pending))
    lost = [i for i, m in enumerate(got) if m is None]
    if lost:
        raise AssertionError(f"{len(lost)} of {rounds} sends right after new_channel lost: rounds {lost}")
    eq(got, [{"type": "race", "i": i} for i in range(rounds)], "payloads")
    await a.flush()
    await b.flush()
    await r.aclose()


@both_protocols
async def flush_closes_and_layer_is_reusable(proto):
    a, b, r = layer(proto), layer(proto), raw()
    ch = await a.new_channel()
    await a.group_add("fl", ch)
    await settle(r, {ch: 1, group_channel("fl"): 1})
    await a.flush()  # closes a's connections: the server drops its subscriptions
    await settle(r, {ch: 0, group_channel("fl"): 0})
    ch2 = await a.new_channel()
    await a.group_add("fl", ch2)
    await settle(r, {ch2: 1, group_channel("fl"): 1})
    await b.group_send("fl", {"type": "after.flush"})
    eq(await recv(a, ch2), {"type": "after.flush"}, "layer works again after flush")
    await a.flush()
    await b.flush()
    await settle(r, {ch2: 0, group_channel("fl"): 0})
    await r.aclose()


@test
def loop_close_flushes_layer():
    """The layer wraps loop.close(): when asyncio.run() ends, its connections are closed."""
    lay = layer(3)
    names = []

    async def serve():
        r = raw()
        ch = await lay.new_channel()
        await lay.group_add("loopclose", ch)
        await settle(r, {ch: 1, group_channel("loopclose"): 1})
        names.extend([ch, group_channel("loopclose")])
        await r.aclose()

    asyncio.run(asyncio.wait_for(serve(), 30))
    r = redis.Redis(host=HOST, port=PORT, socket_timeout=10)
    deadline = time.monotonic() + WAIT
    while r.pubsub_numsub(*names) != [(n.encode(), 0) for n in names]:
        if time.monotonic() > deadline:
            raise AssertionError(f"subscriptions still there after loop close: {r.pubsub_numsub(*names)}")
        time.sleep(0.02)
    r.close()


class WebsocketClient(ApplicationCommunicator):
    """What channels.testing.WebsocketCommunicator does (its package also imports daphne,
    which these checks do not need): drives an ASGI app with websocket events."""

    def __init__(self, app, path):
        super().__init__(app, {"type": "websocket", "path": path, "query_string": b"",
                               "headers": [], "subprotocols": []})

    async def connect(self):
        await self.send_input({"type": "websocket.connect"})
        eq((await self.receive_output(WAIT))["type"], "websocket.accept", "handshake")

    async def send_json_to(self, obj):
        await self.send_input({"type": "websocket.receive", "text": json.dumps(obj)})

    async def receive_json_from(self):
        out = await self.receive_output(WAIT)
        eq(out["type"], "websocket.send", "frame type")
        return json.loads(out["text"])

    async def disconnect(self):
        await self.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.wait(WAIT)


class ChatConsumer(AsyncJsonWebsocketConsumer):
    """The Channels tutorial's chat room, as JSON."""

    async def connect(self):
        self.room = self.scope["path"].strip("/").split("/")[-1]
        self.group = f"chat_{self.room}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        await self.channel_layer.group_send(
            self.group, {"type": "chat.message", "text": content["text"], "from": content["from"]})

    async def chat_message(self, event):
        await self.send_json({"text": event["text"], "from": event["from"]})


class OtherServerChatConsumer(ChatConsumer):
    channel_layer_alias = "other"  # the second "server", RESP2


@test
async def websocket_chat_room_two_servers():
    r = raw()
    g = group_channel("chat_lobby")
    users = {}
    for name, cls in (("u1", ChatConsumer), ("u2", ChatConsumer), ("u3", OtherServerChatConsumer)):
        users[name] = WebsocketClient(cls.as_asgi(), "/ws/chat/lobby/")
        await users[name].connect()
    await settle(r, {g: 2})  # one subscription per server

    async def say(sender, text, listeners):
        await users[sender].send_json_to({"text": text, "from": sender})
        for name in listeners:
            eq(await users[name].receive_json_from(), {"text": text, "from": sender},
               f"{name} hears {sender}")
        for name in listeners:
            eq(await users[name].receive_nothing(0.1), True, f"{name}: nothing more")

    await say("u1", "hello from server 1", ["u1", "u2", "u3"])
    await say("u3", "hello from server 2 \u2713", ["u1", "u2", "u3"])
    await users["u3"].disconnect()
    await settle(r, {g: 1})
    await say("u2", "u3 left", ["u1", "u2"])
    await users["u1"].disconnect()
    await users["u2"].disconnect()
    await settle(r, {g: 0})
    await r.aclose()


if __name__ == "__main__":
    main("channels-redis", f"channels {channels.__version__}, channels_redis {channels_redis.__version__}, "
                           f"redis-py {redis.__version__}")
