// node-redis (`redis` npm package) against the server under test, used as its docs show:
// createClient(), a duplicate() connection for subscriptions with per-channel listeners.
// node-redis 6 defaults to RESP3 (`HELLO 3` pipelined with CLIENT SETINFO); every test
// runs with the default and with `RESP: 2`.
import { createClient } from 'redis';
import { readFileSync } from 'node:fs';
import { assert, HOST, PORT, Inbox, ctl, run, test, until, within } from './harness.mjs';

const MODES = [undefined, 2]; // undefined = the library default (RESP3)

async function open(defer, RESP, opts = {}, socket = {}) {
  const c = createClient({
    ...(RESP ? { RESP } : {}),
    socket: { host: HOST, port: PORT, connectTimeout: 5000, reconnectStrategy: false, ...socket },
    ...opts,
  });
  c.on('error', () => {}); // expected errors are asserted where they happen
  defer(() => (c.isOpen ? c.destroy() : undefined));
  await within(c.connect(), 'connect()');
  return c;
}

for (const RESP of MODES) {
  const tag = RESP ? `[RESP: ${RESP}]` : '[default RESP3]';

  test(`connect handshake ${tag}`, async (defer) => {
    const c = await open(defer, RESP);
    assert.equal(await c.ping(), 'PONG');
    assert.equal(await c.echo('x\r\ny'), 'x\r\ny');
    assert.equal(await c.publish('nr.nobody', 'm'), 0);
  });

  test(`subscribe several channels and patterns, delivery order ${tag}`, async (defer) => {
    const c = await open(defer, RESP);
    const sub = await open(defer, RESP);
    const inbox = new Inbox();
    await sub.subscribe(['nr.s.a', 'nr.s.b', 'nr.s.c'], (message, channel) => inbox.push(['message', channel, message]));
    await sub.pSubscribe(['nr.g.*', 'nr.g.?', 'nr.g.[a-c]x'], (message, channel) => inbox.push(['pmessage', channel, message]));
    for (const ch of ['nr.s.c', 'nr.s.a', 'nr.s.b']) assert.equal(await c.publish(ch, `to ${ch}`), 1);
    for (const ch of ['nr.s.c', 'nr.s.a', 'nr.s.b']) assert.deepEqual(await inbox.next(), ['message', ch, `to ${ch}`]);
    // node-redis hands pmessages to the pattern's listener without the pattern, so count them.
    for (const [channel, n] of [['nr.g.b', 2], ['nr.g.bx', 2], ['nr.g.dx', 1], ['nr.g.a:b.c', 1], ['nr.h.b', 0]]) {
      assert.equal(await c.publish(channel, channel), n, `PUBLISH ${channel}`);
      for (let i = 0; i < n; i++) assert.deepEqual(await inbox.next(), ['pmessage', channel, channel]);
    }
    assert.equal(inbox.size, 0);
  });

  test(`pattern listeners per pattern ${tag}`, async (defer) => {
    const c = await open(defer, RESP);
    const sub = await open(defer, RESP);
    const inbox = new Inbox();
    for (const p of ['nr.pp.*', 'nr.pp.?', 'nr.pp.[a-c]x']) {
      await sub.pSubscribe(p, (message, channel) => inbox.push([p, channel, message]));
    }
    assert.equal(await c.publish('nr.pp.bx', 'm'), 2);
    const got = [await inbox.next(), await inbox.next()].sort();
    assert.deepEqual(got, [['nr.pp.*', 'nr.pp.bx', 'm'], ['nr.pp.[a-c]x', 'nr.pp.bx', 'm']]);
  });

  test(`sSubscribe / sPublish ${tag}`, async (defer) => {
    const c = await open(defer, RESP);
    const sub = await open(defer, RESP);
    const inbox = new Inbox();
    await sub.sSubscribe(['nr.sh.a', 'nr.sh.b'], (message, channel) => inbox.push([channel, message]));
    assert.equal(await c.sPublish('nr.sh.b', 'shard'), 1);
    assert.equal(await c.publish('nr.sh.b', 'not shard'), 0);
    assert.deepEqual(await inbox.next(), ['nr.sh.b', 'shard']);
    await sub.sUnsubscribe('nr.sh.a');
    assert.equal(await c.sPublish('nr.sh.a', 'x'), 0);
    assert.equal(await c.sPublish('nr.sh.b', 'y'), 1);
    assert.deepEqual(await inbox.next(), ['nr.sh.b', 'y']);
  });

  test(`binary, empty and 1 MiB payloads as Buffers ${tag}`, async (defer) => {
    const c = await open(defer, RESP);
    const sub = await open(defer, RESP);
    const inbox = new Inbox();
    const channel = 'nr.bin';
    await sub.subscribe(channel, (message, ch) => inbox.push([ch, message]), true);
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 13) & 0xff;
    const payloads = [Buffer.from('a\0b\r\nc\r\n'), Buffer.alloc(0), Buffer.from('>3\r\n$7\r\nmessage\r\n'), big, Buffer.from([0xff, 0])];
    for (const p of payloads) assert.equal(await c.publish(channel, p), 1);
    for (const p of payloads) {
      const [ch, message] = await inbox.next('binary message', 10_000);
      assert.equal(ch.toString(), channel);
      assert.ok(Buffer.isBuffer(message) && message.equals(p), `payload of ${p.length} bytes differs (got ${message.length})`);
    }
  });

  test(`partial and full unsubscribe ${tag}`, async (defer) => {
    const c = await open(defer, RESP);
    const sub = await open(defer, RESP);
    const inbox = new Inbox();
    await sub.subscribe(['nr.u.a', 'nr.u.b', 'nr.u.c'], (m, ch) => inbox.push([ch, m]));
    await sub.pSubscribe(['nr.u.p1.*', 'nr.u.p2.*'], (m, ch) => inbox.push([ch, m]));
    await sub.unsubscribe('nr.u.b');
    await sub.pUnsubscribe('nr.u.p1.*');
    assert.deepEqual(await c.pubSubNumSub(['nr.u.a', 'nr.u.b', 'nr.u.c']), { 'nr.u.a': 1, 'nr.u.b': 0, 'nr.u.c': 1 });
    assert.equal(await c.publish('nr.u.b', 'x'), 0);
    assert.equal(await c.publish('nr.u.p1.x', 'x'), 0);
    assert.equal(await c.publish('nr.u.p2.x', 'y'), 1);
    assert.deepEqual(await inbox.next(), ['nr.u.p2.x', 'y']);
    await sub.unsubscribe();
    await sub.pUnsubscribe();
    assert.deepEqual(await c.pubSubNumSub(['nr.u.a', 'nr.u.c']), { 'nr.u.a': 0, 'nr.u.c': 0 });
    assert.equal(await c.publish('nr.u.p2.x', 'z'), 0);
    // Out of pub/sub mode the connection serves ordinary commands again.
    assert.equal(await sub.publish('nr.u.a', 'x'), 0);
    assert.equal(String(await sub.ping()), 'PONG');
  });

  test(`PUBSUB CHANNELS/NUMSUB/NUMPAT/SHARDCHANNELS/SHARDNUMSUB ${tag}`, async (defer) => {
    const c = await open(defer, RESP);
    const base = await c.pubSubNumPat();
    const s1 = await open(defer, RESP);
    const s2 = await open(defer, RESP);
    const noop = () => {};
    await s1.subscribe(['nr.i.one', 'nr.i.two'], noop);
    await s2.subscribe('nr.i.two', noop);
    await s2.pSubscribe(['nr.i.pat.*', 'nr.i.pat.?'], noop);
    await s2.sSubscribe(['nr.i.shard1', 'nr.i.shard2'], noop);
    assert.deepEqual((await c.pubSubChannels('nr.i.*')).sort(), ['nr.i.one', 'nr.i.two']);
    assert.deepEqual(await c.pubSubNumSub(['nr.i.one', 'nr.i.two', 'nr.i.none', 'nr.i.shard1']),
      { 'nr.i.one': 1, 'nr.i.two': 2, 'nr.i.none': 0, 'nr.i.shard1': 0 });
    assert.equal(await c.pubSubNumPat(), base + 2);
    assert.deepEqual((await c.pubSubShardChannels('nr.i.*')).sort(), ['nr.i.shard1', 'nr.i.shard2']);
    assert.deepEqual(await c.pubSubShardNumSub(['nr.i.shard1', 'nr.i.one']), { 'nr.i.shard1': 1, 'nr.i.one': 0 });
    s1.destroy(); s2.destroy();
    await until('subscriptions released after disconnect', async () =>
      (await c.pubSubChannels('nr.i.*')).length === 0 && (await c.pubSubNumPat()) === base &&
      (await c.pubSubShardChannels('nr.i.*')).length === 0);
  });

  test(`PING while subscribed ${tag}`, async (defer) => {
    const c = await open(defer, RESP);
    const sub = await open(defer, RESP);
    const inbox = new Inbox();
    await sub.subscribe('nr.ping', (m, ch) => inbox.push([ch, m]));
    // RESP2 subscribe mode answers ["pong", ""], which node-redis reduces to 'pong'.
    assert.equal(String(await sub.ping()), RESP === 2 ? 'pong' : 'PONG');
    assert.equal(await c.publish('nr.ping', 'after'), 1);
    assert.deepEqual(await inbox.next(), ['nr.ping', 'after']);
  });

  test(`password auth (HELLO AUTH / AUTH), wrong and missing password ${tag}`, async (defer) => {
    const name = `nr-auth${RESP ?? 3}`;
    const port = Number(ctl('start', name, 'auto', 'pw 2'));
    defer(() => ctl('stop', name));
    const ok = await open(defer, RESP, { password: 'pw 2' }, { port });
    const sub = await open(defer, RESP, { password: 'pw 2' }, { port });
    const inbox = new Inbox();
    await sub.subscribe('nr.auth', (m, ch) => inbox.push([ch, m]));
    assert.equal(await ok.publish('nr.auth', 'm'), 1);
    assert.deepEqual(await inbox.next(), ['nr.auth', 'm']);
    await assert.rejects(open(defer, RESP, { password: 'wrong' }, { port }), /WRONGPASS/);
    // Without a password: RESP3 fails in HELLO, RESP2 connects and the first command fails.
    if (RESP === 2) {
      const anon = await open(defer, RESP, {}, { port });
      await assert.rejects(anon.publish('nr.auth', 'x'), /NOAUTH Authentication required/);
    } else {
      await assert.rejects(open(defer, RESP, {}, { port }), /NOAUTH/);
    }
  });

  test(`reconnect and resubscribe after the server restarts on the same port ${tag}`, async (defer) => {
    const name = `nr-restart${RESP ?? 3}`;
    const port = Number(ctl('start', name));
    defer(() => ctl('stop', name));
    const socket = { port, reconnectStrategy: () => 50 };
    const c = await open(defer, RESP, {}, socket);
    const sub = await open(defer, RESP, {}, socket);
    const inbox = new Inbox();
    await sub.subscribe(['nr.rs.a', 'nr.rs.b'], (m, ch) => inbox.push(['message', ch, m]));
    await sub.pSubscribe('nr.rs.p.*', (m, ch) => inbox.push(['pmessage', ch, m]));
    await sub.sSubscribe('nr.rs.s', (m, ch) => inbox.push(['smessage', ch, m]));
    const back = within(new Promise((res) => sub.once('error', () => sub.once('ready', res))),
      'subscriber ready again after restart', 20_000);
    ctl('restart', name);
    await back;
    await until('resubscribed on the restarted server', async () => {
      try {
        const n = await c.pubSubNumSub(['nr.rs.a', 'nr.rs.b']);
        const s = await c.pubSubShardNumSub(['nr.rs.s']);
        return n['nr.rs.a'] === 1 && n['nr.rs.b'] === 1 && (await c.pubSubNumPat()) === 1 && s['nr.rs.s'] === 1;
      } catch { return false; } // the publisher reconnects too
    }, 20_000);
    assert.equal(await c.publish('nr.rs.b', 'back'), 1);
    assert.equal(await c.publish('nr.rs.p.x', 'pback'), 1);
    assert.equal(await c.sPublish('nr.rs.s', 'sback'), 1);
    assert.deepEqual(await inbox.next(), ['message', 'nr.rs.b', 'back']);
    assert.deepEqual(await inbox.next(), ['pmessage', 'nr.rs.p.x', 'pback']);
    assert.deepEqual(await inbox.next(), ['smessage', 'nr.rs.s', 'sback']);
  });
}

test('20 subscribers x 500 messages from 5 publishers, RESP2 and RESP3 mixed', async (defer) => {
  const nPub = 5, perPub = 100, channel = 'nr.fan.ch', nSub = 20;
  const subs = [];
  for (let i = 0; i < nSub; i++) {
    const sub = await open(defer, i % 2 ? 2 : undefined);
    const state = { last: new Array(nPub).fill(-1), received: 0, error: null };
    await sub.subscribe(channel, (message) => {
      const [k, seq] = message.split(':').map(Number);
      if (seq !== state.last[k] + 1 && !state.error) state.error = `sub ${i}: publisher ${k} seq ${seq} after ${state.last[k]}`;
      state.last[k] = seq;
      state.received++;
    });
    subs.push(state);
  }
  const counts = await Promise.all([...Array(nPub).keys()].map(async (k) => {
    const pub = await open(defer, k % 2 ? 2 : undefined);
    const out = [];
    for (let seq = 0; seq < perPub; seq++) out.push(await pub.publish(channel, `${k}:${seq}`));
    return out;
  }));
  for (const c of counts) assert.deepEqual([...new Set(c)], [nSub]);
  await until('all deliveries', () => subs.every((s) => s.received >= nPub * perPub), 30_000);
  for (const s of subs) {
    assert.equal(s.error, null);
    assert.equal(s.received, nPub * perPub);
    assert.deepEqual(s.last, new Array(nPub).fill(perPub - 1));
  }
});

// TLS (issue 7): `rediss://` to the same server's TLS port, trusting the run's CA
// (certificates made by tests/clients/tls-certs.sh).
const TLS_PORT = Number(process.env.CLIENTS_TLS_PORT);
const TLS_DIR = process.env.CLIENTS_TLS_DIR;
if (!TLS_PORT || !TLS_DIR) {
  console.error('CLIENTS_TLS_PORT and CLIENTS_TLS_DIR must be set (run through tests/clients/run.sh)');
  process.exit(2);
}

async function openTls(defer, RESP, ca) {
  const c = createClient({
    ...(RESP ? { RESP } : {}),
    url: `rediss://${HOST}:${TLS_PORT}`,
    socket: { ca: readFileSync(`${TLS_DIR}/${ca}`), servername: 'localhost', connectTimeout: 5000, reconnectStrategy: false },
  });
  const errors = [];
  c.on('error', (e) => errors.push(e));
  defer(() => (c.isOpen ? c.destroy() : undefined));
  await within(c.connect(), 'connect() over TLS');
  return c;
}

for (const RESP of MODES) {
  const tag = RESP ? `[RESP: ${RESP}]` : '[default RESP3]';
  test(`rediss:// subscriber, plain publisher, 1 MiB ${tag}`, async (defer) => {
    const sub = await openTls(defer, RESP, 'ca.crt');
    const pub = await open(defer, RESP);
    const inbox = new Inbox();
    await sub.subscribe('nr.tls', (message) => inbox.push(message), true);
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 256;
    for (const m of [Buffer.from('hello'), big, Buffer.from('after')]) {
      assert.equal(await pub.publish('nr.tls', m), 1);
      assert.ok((await inbox.next()).equals(m), `payload of ${m.length} bytes intact`);
    }
    assert.equal(await sub.isOpen, true);
  });
}

// ACL users (issue 7): `rediss://user:password@host` as node-redis's docs show it.
for (const RESP of MODES) {
  const tag = RESP ? `[RESP: ${RESP}]` : '[default RESP3]';
  test(`rediss://user:pass@ ACL user with channel permissions ${tag}`, async (defer) => {
    const admin = await open(defer, RESP);
    const name = `nr-acl-${RESP ?? 3}`;
    assert.equal(await admin.sendCommand(['ACL', 'SETUSER', name, 'reset', 'on', '>nr:pw', '&nr.acl.*',
      '+@pubsub', '+ping', '+hello', '+auth', '+acl|whoami']), 'OK');
    defer(() => admin.sendCommand(['ACL', 'DELUSER', name]));
    const url = (pw) => `rediss://${encodeURIComponent(name)}:${encodeURIComponent(pw)}@${HOST}:${TLS_PORT}`;
    const tls = { ca: readFileSync(`${TLS_DIR}/ca.crt`), servername: 'localhost' };
    const c = await open(defer, RESP, { url: url('nr:pw') }, tls);
    const sub = await open(defer, RESP, { url: url('nr:pw') }, tls);
    assert.equal(await c.sendCommand(['ACL', 'WHOAMI']), name);
    const inbox = new Inbox();
    await sub.subscribe('nr.acl.news', (message, channel) => inbox.push([channel, message]));
    await assert.rejects(sub.subscribe('nr.secret', () => {}), /NOPERM/);
    await assert.rejects(c.publish('nr.secret', 'x'), /NOPERM/);
    assert.equal(await c.publish('nr.acl.news', 'hi'), 1);
    assert.deepEqual(await inbox.next(), ['nr.acl.news', 'hi']);
    await assert.rejects(open(defer, RESP, { url: url('wrong') }, tls), /WRONGPASS/);
  });
}

test('rediss:// with the wrong CA fails verification', async (defer) => {
  await assert.rejects(openTls(defer, undefined, 'other-ca.crt'), /self.signed|unable to verify|certificate/i);
});

await run('node-redis');
