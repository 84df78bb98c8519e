// Socket.IO scaled out over the server under test with @socket.io/redis-adapter, set up as
// the adapter's README shows: each Socket.IO server gets a publisher client and its
// duplicate() as subscriber. Two (sometimes three) Socket.IO servers run in this process on
// free 127.0.0.1 ports; socket.io-client connections attach to them over websocket.
//
// Every test runs for both adapters and both Redis clients:
// - createAdapter: PSUBSCRIBE `KEY#/#*` for broadcasts, SUBSCRIBE to the request, response
//   and per-server response channels, PUBLISH; serverCount() is PUBSUB NUMSUB.
// - createShardedAdapter: SSUBSCRIBE to `KEY#/#`, the per-server response channel and one
//   dynamic channel per public room, SPUBLISH; serverCount() is PUBSUB SHARDNUMSUB.
// - node-redis (sSubscribe/pSubscribe with buffer listeners) and ioredis
//   (on('pmessageBuffer'|'messageBuffer'|'smessageBuffer')), each in its default RESP3
//   and in RESP2 (node-redis 4, the version most adapter users run, spoke only RESP2).
//
// Each test uses its own channel prefix (adapter `key` / `channelPrefix`), so tests never
// see each other's traffic.
import { createServer } from 'node:http';
import Redis from 'ioredis';
import { createClient } from 'redis';
import { Server } from 'socket.io';
import { io as ioClient } from 'socket.io-client';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { assert, HOST, PORT, Inbox, run, test, until, within } from './harness.mjs';

const ADAPTERS = ['classic', 'sharded'];
const CLIENTS = ['node-redis', 'ioredis'];
const PROTOCOLS = [3, 2];

let prefixSeq = 0;
const newPrefix = () => `sio${process.pid}.${++prefixSeq}`;

/** A publisher and its duplicate() as subscriber, connected as the adapter docs show. */
async function redisPair(defer, client, protocol) {
  if (client === 'ioredis') {
    const pub = new Redis({ host: HOST, port: PORT, connectTimeout: 5000, protocol });
    const sub = pub.duplicate();
    for (const c of [pub, sub]) {
      c.on('error', () => {});
      // quit, not disconnect: the adapter's close() leaves its UNSUBSCRIBE promises
      // pending, and dropping the connection under them is an unhandled rejection.
      defer(() => c.quit().catch(() => c.disconnect()));
    }
    return [pub, sub];
  }
  const pub = createClient({
    ...(protocol === 2 ? { RESP: 2 } : {}),
    socket: { host: HOST, port: PORT, connectTimeout: 5000, reconnectStrategy: false },
  });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) {
    c.on('error', () => {});
    defer(() => (c.isOpen ? c.close() : undefined)); // graceful, as for ioredis above
  }
  await within(Promise.all([pub.connect(), sub.connect()]), 'node-redis connect()');
  return [pub, sub];
}

/** An admin connection of our own for PUBSUB NUMSUB / SHARDNUMSUB readiness checks. */
function admin(defer) {
  const r = new Redis({ host: HOST, port: PORT, connectTimeout: 5000 });
  r.on('error', () => {});
  defer(() => r.disconnect());
  return r;
}

async function numsub(r, sharded, channel) {
  const reply = await r.pubsub(sharded ? 'SHARDNUMSUB' : 'NUMSUB', channel);
  return Number(reply[1]);
}

/**
 * `n` Socket.IO servers sharing one adapter prefix. Connection handler: join the rooms in
 * the handshake query `rooms` (comma separated), keep `name` in socket.data, answer 'ask'.
 * Returns once every server's subscriptions are visible in PUBSUB (NUMSUB/SHARDNUMSUB).
 */
async function cluster(defer, { adapter, client, protocol }, n = 2) {
  const key = newPrefix();
  const sharded = adapter === 'sharded';
  const nodes = [];
  for (let i = 0; i < n; i++) {
    const [pub, sub] = await redisPair(defer, client, protocol);
    const make = sharded
      ? createShardedAdapter(pub, sub, { channelPrefix: key })
      : createAdapter(pub, sub, { key, requestsTimeout: 3000 });
    const http = createServer();
    const io = new Server(http, { adapter: make });
    io.on('connection', (socket) => {
      const { rooms, name } = socket.handshake.query;
      socket.data.name = name;
      if (rooms) socket.join(rooms.split(','));
      socket.on('ask', (x, cb) => cb(`${name}:${x}`));
    });
    await within(new Promise((res) => http.listen(0, '127.0.0.1', res)), 'http listen');
    const node = { io, port: http.address().port, name: `n${i + 1}`, closed: false };
    node.close = () => {
      if (node.closed) return undefined;
      node.closed = true;
      return new Promise((res) => io.close(() => res()));
    };
    defer(node.close);
    nodes.push(node);
  }
  const r = admin(defer);
  const channels = (node) => {
    const a = node.io.of('/').adapter;
    return sharded
      ? [[a.channel, n], [a.responseChannel, 1]]
      : [[a.requestChannel, n], [a.responseChannel, n], [a.specificResponseChannel, 1]];
  };
  await until('adapter subscriptions of every server', async () => {
    for (const node of nodes) {
      for (const [ch, want] of channels(node)) if ((await numsub(r, sharded, ch)) !== want) return false;
    }
    return true;
  });
  return { nodes, key, sharded, admin: r };
}

/**
 * With the sharded adapter a public room has its own shard channel, SSUBSCRIBEd when the
 * room is created on a server. Wait until `servers` servers have subscribed to it.
 */
async function roomReady(c, room, servers) {
  if (!c.sharded) return;
  await until(`SSUBSCRIBE of room ${room} on ${servers} servers`,
    async () => (await numsub(c.admin, true, `${c.key}#/#${room}#`)) === servers);
}

/** A socket.io-client connection; every event it gets goes into `inbox`. */
async function connect(defer, node, name, rooms = []) {
  const s = ioClient(`http://127.0.0.1:${node.port}`, {
    transports: ['websocket'], reconnection: false, forceNew: true, timeout: 5000,
    query: { name, ...(rooms.length ? { rooms: rooms.join(',') } : {}) },
  });
  defer(() => s.disconnect());
  s.inbox = new Inbox();
  s.onAny((ev, ...args) => s.inbox.push([ev, ...args]));
  s.on('disconnect', (reason) => s.inbox.push(['disconnect', reason]));
  s.on('ask', (x, cb) => cb(`${name}:${x}`));
  await within(new Promise((res, rej) => { s.once('connect', res); s.once('connect_error', rej); }),
    `socket.io client ${name} connect`);
  return s;
}

for (const adapter of ADAPTERS) {
  for (const client of CLIENTS) for (const protocol of PROTOCOLS) {
    const v = { adapter, client, protocol };
    const tag = `[${adapter}/${client}/resp${protocol}]`;

    test(`serverCount() via ${adapter === 'sharded' ? 'SHARDNUMSUB' : 'NUMSUB'} follows servers joining and leaving ${tag}`, async (defer) => {
      const c = await cluster(defer, v, 3);
      for (const node of c.nodes) assert.equal(await node.io.of('/').adapter.serverCount(), 3, node.name);
      await c.nodes[2].close();
      await until('serverCount() 2 after one server closed',
        async () => (await c.nodes[0].io.of('/').adapter.serverCount()) === 2);
      assert.equal(await c.nodes[1].io.of('/').adapter.serverCount(), 2);
    });

    test(`room broadcast from server 1 reaches clients on server 2 ${tag}`, async (defer) => {
      const c = await cluster(defer, v);
      const [n1, n2] = c.nodes;
      const a = await connect(defer, n2, 'a', ['r1']);
      const b = await connect(defer, n2, 'b');
      const cc = await connect(defer, n1, 'c', ['r1']);
      const d = await connect(defer, n2, 'd', ['r2']);
      await roomReady(c, 'r1', 2);
      await roomReady(c, 'r2', 1);
      const bin = Buffer.from([0, 1, 2, 0xff, 13, 10]);
      n1.io.to('r1').emit('news', 'hello', { n: 1, s: 'x\r\ny' }, bin);
      for (const s of [a, cc]) {
        const [ev, text, obj, buf] = await s.inbox.next(`news on ${s.io.opts.query.name}`);
        assert.deepEqual([ev, text, obj], ['news', 'hello', { n: 1, s: 'x\r\ny' }]);
        assert.ok(Buffer.from(buf).equals(bin), 'binary argument (msgpack path) arrives intact');
      }
      n1.io.to(['r1', 'r2']).emit('multi', 1);
      for (const s of [a, cc, d]) assert.deepEqual(await s.inbox.next('multi'), ['multi', 1]);
      n1.io.except('r1').emit('except', 2);
      for (const s of [b, d]) assert.deepEqual(await s.inbox.next('except'), ['except', 2]);
      // The reverse direction, server 2 to a room member on server 1.
      n2.io.to('r1').emit('back', 3);
      for (const s of [a, cc]) assert.deepEqual(await s.inbox.next('back'), ['back', 3]);
      // Redis delivers one subscriber's messages in publish order, so a final broadcast to
      // everyone is the first thing anyone outside the rooms received.
      n1.io.emit('all', 4);
      for (const s of [a, b, cc, d]) assert.deepEqual(await s.inbox.next('all'), ['all', 4]);
      for (const s of [a, b, cc, d]) assert.equal(s.inbox.size, 0, `nothing else reached ${s.io.opts.query.name}`);
    });

    test(`broadcast with acknowledgements across servers ${tag}`, async (defer) => {
      const c = await cluster(defer, v);
      const [n1, n2] = c.nodes;
      await connect(defer, n2, 'a');
      await connect(defer, n2, 'b');
      await connect(defer, n1, 'c');
      const replies = await within(n1.io.timeout(3000).emitWithAck('ask', 'q'), 'emitWithAck');
      assert.deepEqual(replies.sort(), ['a:q', 'b:q', 'c:q']);
    });

    test(`serverSideEmit without ack ${tag}`, async (defer) => {
      const c = await cluster(defer, v, 3);
      const inboxes = c.nodes.map((node) => {
        const inbox = new Inbox();
        node.io.on('hello', (...args) => inbox.push(['hello', ...args]));
        node.io.on('marker', (...args) => inbox.push(['marker', ...args]));
        return inbox;
      });
      assert.equal(c.nodes[0].io.serverSideEmit('hello', 'a', 2, { b: [1, null] }), true);
      for (const i of [1, 2]) assert.deepEqual(await inboxes[i].next(`hello on n${i + 1}`), ['hello', 'a', 2, { b: [1, null] }]);
      // n1 must not hear its own emit: had it, that would have come before n2's marker.
      c.nodes[1].io.serverSideEmit('marker', 'm');
      assert.deepEqual(await inboxes[0].next('marker on n1'), ['marker', 'm']);
      assert.deepEqual(await inboxes[2].next('marker on n3'), ['marker', 'm']);
      for (const inbox of inboxes) assert.equal(inbox.size, 0);
    });

    test(`serverSideEmit with ack collects one answer per other server ${tag}`, async (defer) => {
      const c = await cluster(defer, v, 3);
      for (const node of c.nodes) node.io.on('q', (x, cb) => cb(`${node.name}:${x}`));
      const viaCallback = await within(new Promise((res, rej) => {
        c.nodes[0].io.serverSideEmit('q', 'x', (err, responses) => (err ? rej(err) : res(responses)));
      }), 'serverSideEmit ack callback');
      assert.deepEqual(viaCallback.sort(), ['n2:x', 'n3:x']);
      const viaPromise = await within(c.nodes[1].io.serverSideEmitWithAck('q', 'y'), 'serverSideEmitWithAck');
      assert.deepEqual(viaPromise.sort(), ['n1:y', 'n3:y']);
    });

    test(`fetchSockets() across servers and RemoteSocket ${tag}`, async (defer) => {
      const c = await cluster(defer, v);
      const [n1, n2] = c.nodes;
      const a = await connect(defer, n2, 'a', ['r1']);
      const b = await connect(defer, n2, 'b');
      const cc = await connect(defer, n1, 'c', ['r1']);
      const all = await within(n1.io.fetchSockets(), 'fetchSockets()');
      const seen = all.map((s) => [s.id, s.data.name, [...s.rooms].sort()]).sort((x, y) => x[1].localeCompare(y[1]));
      assert.deepEqual(seen, [
        [a.id, 'a', [a.id, 'r1'].sort()],
        [b.id, 'b', [b.id]],
        [cc.id, 'c', [cc.id, 'r1'].sort()],
      ]);
      const inRoom = await within(n1.io.in('r1').fetchSockets(), "in('r1').fetchSockets()");
      assert.deepEqual(inRoom.map((s) => s.id).sort(), [a.id, cc.id].sort());
      const one = await within(n1.io.in(b.id).fetchSockets(), 'fetchSockets() of one id');
      assert.deepEqual(one.map((s) => [s.id, s.handshake.query.name]), [[b.id, 'b']]);
      // A RemoteSocket from server 1 acts on the client held by server 2.
      const remoteA = all.find((s) => s.id === a.id);
      remoteA.emit('direct', 'to a');
      assert.deepEqual(await a.inbox.next('direct'), ['direct', 'to a']);
      remoteA.join('r7');
      await until('remote join reached server 2', () => n2.io.of('/').adapter.rooms.get('r7')?.has(a.id) === true);
      remoteA.disconnect();
      assert.deepEqual(await a.inbox.next('disconnect'), ['disconnect', 'io server disconnect']);
      const left = await within(n1.io.fetchSockets(), 'fetchSockets() after disconnect');
      assert.deepEqual(left.map((s) => s.id).sort(), [b.id, cc.id].sort());
      assert.equal(b.inbox.size + cc.inbox.size, 0);
    });

    test(`socketsJoin / socketsLeave / disconnectSockets across servers ${tag}`, async (defer) => {
      const c = await cluster(defer, v);
      const [n1, n2] = c.nodes;
      const a = await connect(defer, n2, 'a', ['r1']);
      const b = await connect(defer, n2, 'b');
      const cc = await connect(defer, n1, 'c', ['r1']);
      const roomsOf = (node, room) => [...(node.io.of('/').adapter.rooms.get(room) ?? [])].sort();
      n1.io.in(b.id).socketsJoin('r9');
      await until('socketsJoin reached server 2', () => roomsOf(n2, 'r9').includes(b.id));
      n2.io.in('r1').socketsJoin('r9');
      await until('socketsJoin by room reached server 1', () => roomsOf(n1, 'r9').includes(cc.id));
      assert.deepEqual(roomsOf(n2, 'r9'), [a.id, b.id].sort());
      await roomReady(c, 'r9', 2);
      n1.io.to('r9').emit('r9', 1);
      for (const s of [a, b, cc]) assert.deepEqual(await s.inbox.next('r9'), ['r9', 1]);
      n1.io.in('r9').socketsLeave('r9');
      await until('socketsLeave on both servers', () => roomsOf(n1, 'r9').length === 0 && roomsOf(n2, 'r9').length === 0);
      n1.io.in('r1').disconnectSockets(true);
      for (const s of [a, cc]) assert.deepEqual(await s.inbox.next('disconnect'), ['disconnect', 'io server disconnect']);
      assert.equal(b.connected, true, 'b is not in r1 and stays connected');
      const left = await within(n2.io.fetchSockets(), 'fetchSockets() after disconnectSockets');
      assert.deepEqual(left.map((s) => s.id), [b.id]);
      n1.io.emit('still', 5);
      assert.deepEqual(await b.inbox.next('still'), ['still', 5]);
    });
  }
}

await run('socket.io');
