"""redis.asyncio used the way FastAPI/Starlette WebSocket notification examples use it,
against the server under test.

The pattern: one app-wide `redis.asyncio.Redis` (its connection pool is app.state.redis),
one WebSocket handler task per connected user, each with its own `redis.pubsub()` on
`user:{id}:notifications`, forwarding `async for message in pubsub.listen()`; HTTP
handlers publish through the same pool; an admin dashboard PSUBSCRIBEs
`user:*:notifications`; on WebSocket disconnect the handler UNSUBSCRIBEs / closes its PubSub.
The handlers here collect what they would forward instead of writing to a socket:
the Redis traffic is the same.

Prints `fastapi-style: N passed, M failed` last; exits 1 on any failure.
"""

import asyncio
import contextlib
import json
import random
import time

from harness import HOST, PORT, WAIT, both_protocols, eq, main, numsub, require, test, within

require("requirements-frameworks.txt", "fastapi-style")  # before importing the pinned packages

import redis  # noqa: E402
import redis.asyncio  # noqa: E402
import starlette  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Route, WebSocketRoute  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402


N_USERS = 300
N_PUB, PER_PUB = 5, 600
# Pause before each "right after" round so the server is idle when the SUBSCRIBE (or the
# close) arrives: see the README, redis-server itself may reorder back-to-back commands.
IDLE = 0.005


def app_redis(proto):
    # Every PubSub holds a pool connection for its lifetime, and redis-py 8's pool stops at
    # 100 connections by default (the 101st subscriber fails with MaxConnectionsError): an
    # app with hundreds of WebSocket users has to raise it, so this one does.
    return redis.asyncio.Redis(host=HOST, port=PORT, protocol=proto, socket_timeout=30,
                               socket_connect_timeout=5, max_connections=2 * N_USERS)


def channel(uid):
    return f"user:{uid}:notifications"


@both_protocols
async def notifications_300_users(proto):
    """300 users each with their own PubSub; 5 publishers send 600 notifications each to
    random users at once; every notification reaches exactly its user (and the admin
    pattern subscriber), none lost, each publisher's order kept."""
    app = app_redis(proto)
    rng = random.Random(9_4_300 + proto)
    plan = [[rng.randrange(N_USERS) for _ in range(PER_PUB)] for _ in range(N_PUB)]
    expected = {uid: [] for uid in range(N_USERS)}  # uid -> [(pub, seq)] in publish order
    for k, targets in enumerate(plan):
        for seq, uid in enumerate(targets):
            expected[uid].append((k, seq))
    published = asyncio.Event()

    async def websocket_handler(uid, ready):
        pubsub = app.pubsub()
        await pubsub.subscribe(channel(uid))
        got = []
        try:
            want = len(expected[uid])
            async for message in pubsub.listen():
                if message["type"] == "subscribe":
                    eq((message["channel"], message["data"]), (channel(uid).encode(), 1), "confirmation")
                    ready.set()
                    if want == 0:
                        break
                    continue
                eq((message["type"], message["channel"]), ("message", channel(uid).encode()), f"user {uid}")
                got.append(json.loads(message["data"]))
                if len(got) == want:
                    break
            await published.wait()
            extra = await pubsub.get_message(timeout=0.1)
            if extra is not None:
                raise AssertionError(f"user {uid}: unexpected extra message {extra!r}")
        finally:
            await pubsub.unsubscribe(channel(uid))  # the handler's `finally` on disconnect
            await pubsub.aclose()
        return got

    async def admin_dashboard(ready):
        pubsub = app.pubsub()
        await pubsub.psubscribe("user:*:notifications")
        got = []
        async for message in pubsub.listen():
            if message["type"] == "psubscribe":
                ready.set()
                continue
            eq(message["pattern"], b"user:*:notifications", "admin pattern")
            got.append(json.loads(message["data"]))
            if len(got) == N_PUB * PER_PUB:
                break
        await pubsub.aclose()
        return got

    async def publisher(k):  # an HTTP handler: POST /notify/{uid}
        counts = []
        for seq, uid in enumerate(plan[k]):
            body = json.dumps({"user": uid, "pub": k, "seq": seq})
            counts.append(await app.publish(channel(uid), body))
        return counts

    readies = [asyncio.Event() for _ in range(N_USERS + 1)]
    handlers = [asyncio.create_task(websocket_handler(uid, readies[uid])) for uid in range(N_USERS)]
    admin = asyncio.create_task(admin_dashboard(readies[N_USERS]))
    try:
        all_ready = asyncio.ensure_future(asyncio.gather(*(e.wait() for e in readies)))
        done, _ = await asyncio.wait([all_ready, *handlers, admin], timeout=30,
                                     return_when=asyncio.FIRST_COMPLETED)
        if all_ready not in done:
            all_ready.cancel()
            for t in done:
                t.result()  # a handler that ended before publishing: raise its error
            raise AssertionError("not all 301 subscriptions confirmed within 30s")
        eq(await app.pubsub_numpat(), 1, "admin pattern subscribed")
        counts = await within(asyncio.gather(*(publisher(k) for k in range(N_PUB))), "publishing", 60)
        published.set()
        for k, c in enumerate(counts):
            bad = [seq for seq, n in enumerate(c) if n != 2]
            if bad:
                raise AssertionError(f"publisher {k}: PUBLISH did not answer 2 (user + admin) at seq {bad[:10]}")
        results = await within(asyncio.gather(*handlers), "every user's notifications", 60)
        for uid, got in enumerate(results):
            if any(m["user"] != uid for m in got):
                raise AssertionError(f"user {uid} got another user's notification")
            # exact set, and per publisher in publish order
            for k in range(N_PUB):
                eq([m["seq"] for m in got if m["pub"] == k],
                   [seq for p, seq in expected[uid] if p == k], f"user {uid}, publisher {k}")
        admin_got = await within(admin, "admin dashboard", 30)
        for k in range(N_PUB):
            eq([m["seq"] for m in admin_got if m["pub"] == k], list(range(PER_PUB)), f"admin, publisher {k}")
        eq(await app.pubsub_numsub(*(channel(u) for u in range(3))),
           [(channel(u).encode(), 0) for u in range(3)], "handlers unsubscribed")
    finally:
        for t in handlers + [admin]:
            t.cancel()
        await asyncio.gather(*handlers, admin, return_exceptions=True)
        await app.aclose()


@both_protocols
async def numsub_right_after_client_left(proto):
    """A WebSocket closes; its handler closes the PubSub (connection closed); another
    request asks PUBSUB NUMSUB at once and must see 0, and a PUBLISH reaches nobody.
    Half the rounds UNSUBSCRIBE first (without waiting for the reply), half just close."""
    app, other = app_redis(proto), app_redis(proto)
    await other.ping()
    rounds, bad = 50, []
    for i in range(rounds):
        ch = f"user:left{proto}.{i}:notifications"
        pubsub = app.pubsub()
        await pubsub.subscribe(ch)
        eq((await within(pubsub.get_message(timeout=WAIT), "confirmation"))["type"], "subscribe", "confirmation")
        eq(await numsub(other, ch), 1, "subscribed")
        await asyncio.sleep(IDLE)
        if i % 2:
            await pubsub.unsubscribe(ch)
        await pubsub.aclose()  # disconnects the connection
        n = await numsub(other, ch)
        p = await other.publish(ch, "after leaving")
        if (n, p) != (0, 0):
            bad.append((i, n, p))
    if bad:
        raise AssertionError(f"{len(bad)} of {rounds} rounds saw the client still subscribed "
                             f"(round, NUMSUB, PUBLISH): {bad[:10]}")
    await app.aclose()
    await other.aclose()


@both_protocols
async def publish_right_after_subscribe(proto):
    """A user connects (SUBSCRIBE sent, confirmation not awaited, as pubsub.subscribe() does)
    and another request publishes to them at once: PUBLISH answers 1 and it arrives."""
    app, other = app_redis(proto), app_redis(proto)
    await other.ping()
    rounds, subs, counts = 60, [], []
    for i in range(rounds):
        await asyncio.sleep(IDLE)
        pubsub = app.pubsub()
        await pubsub.subscribe(f"user:new{proto}.{i}:notifications")
        counts.append(await other.publish(f"user:new{proto}.{i}:notifications", f"welcome {i}"))
        subs.append(pubsub)

    async def first_message(pubsub):
        try:
            async with asyncio.timeout(WAIT):
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        return message["data"]
        except TimeoutError:
            return None

    got = await asyncio.gather(*(first_message(p) for p in subs))
    lost = [i for i, (n, m) in enumerate(zip(counts, got)) if n != 1 or m is None]
    if lost:
        raise AssertionError(f"{len(lost)} of {rounds} publishes right after subscribe lost: "
                             f"(round, PUBLISH answer, received) {[(i, counts[i], got[i]) for i in lost[:10]]}")
    eq(got, [f"welcome {i}".encode() for i in range(rounds)], "payloads")
    for p in subs:
        await p.aclose()
    await app.aclose()
    await other.aclose()


# --------------------------------------------------------------------------- a real Starlette app


@contextlib.asynccontextmanager
async def lifespan(app):
    app.state.redis = redis.asyncio.Redis(host=HOST, port=PORT, socket_timeout=30,
                                          socket_connect_timeout=5)
    yield
    await app.state.redis.aclose()


async def ws_notifications(websocket):
    """WebSocket /ws/{user_id}: forward the user's notifications until the client leaves."""
    uid = websocket.path_params["user_id"]
    await websocket.accept()
    pubsub = websocket.app.state.redis.pubsub()
    await pubsub.subscribe(channel(uid))

    async def forward():
        async for message in pubsub.listen():
            if message["type"] == "message":
                await websocket.send_text(message["data"].decode())

    task = asyncio.create_task(forward())
    try:
        while True:
            await websocket.receive_text()  # only to notice the disconnect
    except WebSocketDisconnect:
        pass
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await pubsub.unsubscribe(channel(uid))
        await pubsub.aclose()


async def notify(request):
    """POST /notify/{user_id}: publish the body, answer the receiver count."""
    n = await request.app.state.redis.publish(channel(request.path_params["user_id"]), await request.body())
    return JSONResponse({"receivers": n})


async def online(request):
    """GET /online/{user_id}: PUBSUB NUMSUB of the user's channel."""
    [(_, n)] = await request.app.state.redis.pubsub_numsub(channel(request.path_params["user_id"]))
    return JSONResponse({"online": n})


starlette_app = Starlette(lifespan=lifespan, routes=[
    WebSocketRoute("/ws/{user_id:int}", ws_notifications),
    Route("/notify/{user_id:int}", notify, methods=["POST"]),
    Route("/online/{user_id:int}", online),
])


@test
def starlette_app_websocket_notifications():
    """The same pattern in a real Starlette app (lifespan-owned pool, WebSocket route,
    HTTP publish route) through starlette.testclient: delivery to the right socket, in
    order, and once a socket closed its handler has left (NUMSUB 0, PUBLISH 0) at once."""
    with TestClient(starlette_app) as client:
        def online_is(uid, n):
            deadline = time.monotonic() + WAIT
            while client.get(f"/online/{uid}").json() != {"online": n}:
                if time.monotonic() > deadline:
                    raise AssertionError(f"user {uid}: NUMSUB did not become {n}")
                time.sleep(0.01)

        with client.websocket_connect("/ws/1") as u1, client.websocket_connect("/ws/2") as u2:
            online_is(1, 1)
            online_is(2, 1)
            for i in range(50):
                uid = 1 + i % 2
                eq(client.post(f"/notify/{uid}", content=f"n{i} \u2713").json(), {"receivers": 1}, "POST /notify")
            for i in range(50):
                eq((u1 if i % 2 == 0 else u2).receive_text(), f"n{i} \u2713", f"notification {i}")
            with client.websocket_connect("/ws/1") as u1bis:  # the same user on a second tab
                online_is(1, 2)
                eq(client.post("/notify/1", content="both tabs").json(), {"receivers": 2}, "two tabs")
                eq(u1.receive_text(), "both tabs", "first tab")
                eq(u1bis.receive_text(), "both tabs", "second tab")
            # the tab's handler has unsubscribed and closed before the TestClient returned
            eq(client.get("/online/1").json(), {"online": 1}, "NUMSUB right after a tab closed")
            eq(client.post("/notify/2", content="last").json(), {"receivers": 1}, "POST /notify")
            eq(u2.receive_text(), "last", "u2 got only its own notifications")
        eq(client.get("/online/1").json(), {"online": 0}, "NUMSUB right after u1 left")
        eq(client.get("/online/2").json(), {"online": 0}, "NUMSUB right after u2 left")
        eq(client.post("/notify/1", content="gone").json(), {"receivers": 0}, "PUBLISH after leaving")


if __name__ == "__main__":
    main("fastapi-style", f"redis-py {redis.__version__} (redis.asyncio, FastAPI/Starlette WebSocket pattern), "
                          f"starlette {starlette.__version__}")
