// ioredis against the server under test, as ioredis users write it: one connection in
// subscriber mode with on('message'|'pmessage'|'smessage'), a second one to publish.
// ioredis 6 speaks RESP3 by default (`hello 3`, then `info` as the ready check); every
// test runs with the default and with `protocol: 2` (no HELLO, RESP2 arrays).
import Redis from 'ioredis';
import { readFileSync } from 'node:fs';
import { assert, HOST, PORT, WAIT_MS, Inbox, ctl, run, test, until, within } from './harness.mjs';

const PROTOCOLS = [3, 2];

function open(defer, protocol, opts = {}) {
  const r = new Redis({ host: HOST, port: PORT, protocol, connectTimeout: 5000, ...opts });
  r.on('error', () => {}); // errors are asserted where expected; keep node from crashing
  defer(() => r.disconnect());
  return r;
}

function ready(r) {
  return r.status === 'ready' ? Promise.resolve() : within(new Promise((res) => r.once('ready', res)), "'ready'");
}

for (const protocol of PROTOCOLS) {
  const tag = `[resp${protocol}]`;

  test(`connect handshake and ready check ${tag}`, async (defer) => {
    const r = open(defer, protocol);
    await ready(r);
    assert.equal(await r.ping(), 'PONG');
    assert.equal(await r.echo('x\r\ny'), 'x\r\ny');
    assert.equal(await r.publish('io.nobody', 'm'), 0);
  });

  test(`subscribe several channels, on('message') in order ${tag}`, async (defer) => {
    const sub = open(defer, protocol);
    const pub = open(defer, protocol);
    const inbox = new Inbox();
    sub.on('message', (channel, message) => inbox.push([channel, message]));
    assert.equal(await sub.subscribe('io.s.a', 'io.s.b', 'io.s.c'), 3);
    const order = ['io.s.c', 'io.s.a', 'io.s.b', 'io.s.a'];
    for (const ch of order) assert.equal(await pub.publish(ch, `to ${ch}`), 1, `PUBLISH ${ch}`);
    for (const ch of order) assert.deepEqual(await inbox.next(), [ch, `to ${ch}`]);
    assert.equal(await pub.publish('io.s.other', 'x'), 0);
    assert.equal(inbox.size, 0, 'nothing else delivered');
  });

  test(`psubscribe * ? [a-z] patterns, on('pmessage') ${tag}`, async (defer) => {
    const sub = open(defer, protocol);
    const pub = open(defer, protocol);
    const inbox = new Inbox();
    sub.on('pmessage', (pattern, channel, message) => inbox.push([pattern, channel, message]));
    assert.equal(await sub.psubscribe('io.g.*', 'io.g.?', 'io.g.[a-c]x'), 3);
    const cases = [
      ['io.g.b', ['io.g.*', 'io.g.?']],
      ['io.g.bx', ['io.g.*', 'io.g.[a-c]x']],
      ['io.g.dx', ['io.g.*']],
      ['io.g.a:b.c', ['io.g.*']],
      ['io.h.b', []],
    ];
    for (const [channel, patterns] of cases) {
      assert.equal(await pub.publish(channel, `m ${channel}`), patterns.length, `PUBLISH ${channel}`);
      const got = [];
      for (const _ of patterns) {
        const [pattern, ch, message] = await inbox.next(`pmessage for ${channel}`);
        assert.deepEqual([ch, message], [channel, `m ${channel}`]);
        got.push(pattern);
      }
      assert.deepEqual(got.sort(), [...patterns].sort(), `patterns matching ${channel}`);
    }
    assert.equal(inbox.size, 0);
  });

  test(`ssubscribe and on('smessage') ${tag}`, async (defer) => {
    const sub = open(defer, protocol);
    const pub = open(defer, protocol);
    const inbox = new Inbox();
    sub.on('smessage', (channel, message) => inbox.push([channel, message]));
    assert.equal(await sub.ssubscribe('io.sh.a', 'io.sh.b'), 2);
    assert.equal(await pub.spublish('io.sh.b', 'shard'), 1);
    assert.equal(await pub.publish('io.sh.b', 'not shard'), 0, 'PUBLISH does not reach shard subscribers');
    assert.deepEqual(await inbox.next(), ['io.sh.b', 'shard']);
    assert.equal(await sub.sunsubscribe('io.sh.a'), 1);
    assert.equal(await pub.spublish('io.sh.a', 'x'), 0);
    assert.equal(await sub.sunsubscribe(), 0);
  });

  test(`binary, empty and 1 MiB payloads via messageBuffer ${tag}`, async (defer) => {
    const sub = open(defer, protocol);
    const pub = open(defer, protocol);
    const inbox = new Inbox();
    sub.on('messageBuffer', (channel, message) => inbox.push([channel, message]));
    const channel = Buffer.from('io.bin\0\r\nch', 'latin1');
    assert.equal(await sub.subscribe(channel), 1);
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    const payloads = [Buffer.from('a\0b\r\nc\r\n'), Buffer.alloc(0), Buffer.from('*3\r\n$7\r\nmessage\r\n'), big, Buffer.from([0xff, 0xfe])];
    for (const p of payloads) assert.equal(await pub.publish(channel, p), 1);
    for (const p of payloads) {
      const [ch, message] = await inbox.next('binary message', 10_000);
      assert.ok(ch.equals(channel), 'channel bytes');
      assert.ok(message.equals(p), `payload of ${p.length} bytes came back as ${message.length} bytes, not equal`);
    }
  });

  test(`partial and full unsubscribe / punsubscribe ${tag}`, async (defer) => {
    const sub = open(defer, protocol);
    const pub = open(defer, protocol);
    const inbox = new Inbox();
    sub.on('message', (channel, message) => inbox.push(['message', channel, message]));
    sub.on('pmessage', (pattern, channel, message) => inbox.push(['pmessage', pattern, channel, message]));
    assert.equal(await sub.subscribe('io.u.a', 'io.u.b', 'io.u.c'), 3);
    assert.equal(await sub.psubscribe('io.u.p1.*', 'io.u.p2.*'), 5);
    assert.equal(await sub.unsubscribe('io.u.b'), 4, 'partial UNSUBSCRIBE count');
    assert.equal(await sub.punsubscribe('io.u.p1.*'), 3, 'partial PUNSUBSCRIBE count');
    assert.equal(await pub.publish('io.u.b', 'x'), 0);
    assert.equal(await pub.publish('io.u.p1.x', 'x'), 0);
    assert.equal(await pub.publish('io.u.p2.x', 'y'), 1);
    assert.deepEqual(await inbox.next(), ['pmessage', 'io.u.p2.*', 'io.u.p2.x', 'y']);
    // ioredis resolves an argument-less (p)unsubscribe when a reply reaches count 0, so
    // drop the pattern first by name, then all channels at once.
    assert.equal(await sub.punsubscribe('io.u.p2.*'), 2);
    assert.equal(await sub.unsubscribe(), 0, 'argument-less UNSUBSCRIBE');
    // Out of subscriber mode the same connection runs normal commands again.
    assert.equal(await sub.publish('io.u.a', 'x'), 0);
    const psub = open(defer, protocol);
    assert.equal(await psub.psubscribe('io.u.q1.*', 'io.u.q2.?'), 2);
    assert.equal(await psub.punsubscribe(), 0, 'argument-less PUNSUBSCRIBE');
    assert.equal(await pub.publish('io.u.q1.x', 'x'), 0);
  });

  test(`PUBSUB CHANNELS/NUMSUB/NUMPAT/SHARDCHANNELS/SHARDNUMSUB ${tag}`, async (defer) => {
    const pub = open(defer, protocol);
    const baseNumpat = await pub.pubsub('NUMPAT');
    const s1 = open(defer, protocol);
    const s2 = open(defer, protocol);
    const s3 = open(defer, protocol);
    assert.equal(await s1.subscribe('io.i.one', 'io.i.two'), 2);
    assert.equal(await s2.subscribe('io.i.two'), 1);
    assert.equal(await s3.psubscribe('io.i.pat.*', 'io.i.pat.?'), 2);
    assert.equal(await s3.ssubscribe('io.i.shard1', 'io.i.shard2'), 2);
    assert.deepEqual((await pub.pubsub('CHANNELS', 'io.i.*')).sort(), ['io.i.one', 'io.i.two']);
    assert.deepEqual(await pub.pubsub('NUMSUB', 'io.i.one', 'io.i.two', 'io.i.none', 'io.i.shard1'),
      ['io.i.one', 1, 'io.i.two', 2, 'io.i.none', 0, 'io.i.shard1', 0]);
    assert.equal(await pub.pubsub('NUMPAT'), baseNumpat + 2);
    assert.deepEqual((await pub.pubsub('SHARDCHANNELS', 'io.i.*')).sort(), ['io.i.shard1', 'io.i.shard2']);
    assert.deepEqual(await pub.pubsub('SHARDNUMSUB', 'io.i.shard1', 'io.i.one'), ['io.i.shard1', 1, 'io.i.one', 0]);
    assert.equal(await pub.publish('io.i.two', 'm'), 2);
    assert.equal(await pub.publish('io.i.pat.x', 'm'), 2);
    s1.disconnect(); s2.disconnect(); s3.disconnect();
    await until('subscriptions released after disconnect', async () =>
      (await pub.pubsub('CHANNELS', 'io.i.*')).length === 0 && (await pub.pubsub('NUMPAT')) === baseNumpat &&
      (await pub.pubsub('SHARDCHANNELS', 'io.i.*')).length === 0);
  });

  test(`PING while subscribed ${tag}`, async (defer) => {
    const sub = open(defer, protocol);
    const pub = open(defer, protocol);
    const inbox = new Inbox();
    sub.on('message', (channel, message) => inbox.push([channel, message]));
    assert.equal(await sub.subscribe('io.ping'), 1);
    // RESP2 subscribe mode answers ["pong", arg]; RESP3 answers like any other PING.
    assert.deepEqual(await sub.ping(), protocol === 2 ? ['pong', ''] : 'PONG');
    assert.deepEqual(await sub.ping('hi'), protocol === 2 ? ['pong', 'hi'] : 'hi');
    assert.equal(await pub.publish('io.ping', 'after'), 1);
    assert.deepEqual(await inbox.next(), ['io.ping', 'after']);
  });

  test(`password auth, wrong password, missing password ${tag}`, async (defer) => {
    const name = `io-auth${protocol}`;
    const port = Number(ctl('start', name, 'auto', 'pw 1'));
    defer(() => ctl('stop', name));
    const ok = open(defer, protocol, { port, password: 'pw 1' });
    await ready(ok);
    assert.equal(await ok.publish('io.auth', 'm'), 0);
    const sub = open(defer, protocol, { port, password: 'pw 1' });
    const inbox = new Inbox();
    sub.on('message', (channel, message) => inbox.push([channel, message]));
    assert.equal(await sub.subscribe('io.auth'), 1);
    assert.equal(await ok.publish('io.auth', 'm'), 1);
    assert.deepEqual(await inbox.next(), ['io.auth', 'm']);

    for (const [opts, want] of [[{ password: 'wrong' }, /^WRONGPASS/], [{}, /^NOAUTH/]]) {
      const bad = new Redis({ host: HOST, port, protocol, lazyConnect: true, retryStrategy: () => null, ...opts });
      const errors = new Inbox();
      bad.on('error', (e) => errors.push(e));
      defer(() => bad.disconnect());
      const connected = bad.connect().then(() => null, (e) => e);
      const err = await errors.next('auth error event');
      assert.match(err.message, want);
      await within(connected, 'connect() settling');
    }
  });

  test(`autoResubscribe after the server restarts on the same port ${tag}`, async (defer) => {
    const name = `io-restart${protocol}`;
    const port = Number(ctl('start', name));
    defer(() => ctl('stop', name));
    const sub = open(defer, protocol, { port, retryStrategy: () => 50 });
    const pub = open(defer, protocol, { port, retryStrategy: () => 50 });
    const inbox = new Inbox();
    sub.on('message', (channel, message) => inbox.push(['message', channel, message]));
    sub.on('pmessage', (pattern, channel, message) => inbox.push(['pmessage', pattern, channel, message]));
    sub.on('smessage', (channel, message) => inbox.push(['smessage', channel, message]));
    assert.equal(await sub.subscribe('io.rs.a', 'io.rs.b'), 2);
    assert.equal(await sub.psubscribe('io.rs.p.*'), 3);
    assert.equal(await sub.ssubscribe('io.rs.s'), 1);
    const reconnected = within(new Promise((res) => sub.once('close', () => sub.once('ready', res))),
      'subscriber ready again after restart', 20_000);
    ctl('restart', name);
    await reconnected;
    // 'ready' fires before the re-sent SUBSCRIBEs are answered: wait for the server's view.
    await until('resubscribed on the restarted server', async () => {
      const n = await pub.pubsub('NUMSUB', 'io.rs.a', 'io.rs.b');
      const s = await pub.pubsub('SHARDNUMSUB', 'io.rs.s');
      return n[1] === 1 && n[3] === 1 && (await pub.pubsub('NUMPAT')) === 1 && s[1] === 1;
    }, 20_000);
    assert.equal(await pub.publish('io.rs.b', 'back'), 1);
    assert.equal(await pub.publish('io.rs.p.x', 'pback'), 1);
    assert.equal(await pub.spublish('io.rs.s', 'sback'), 1);
    assert.deepEqual(await inbox.next(), ['message', 'io.rs.b', 'back']);
    assert.deepEqual(await inbox.next(), ['pmessage', 'io.rs.p.*', 'io.rs.p.x', 'pback']);
    assert.deepEqual(await inbox.next(), ['smessage', 'io.rs.s', 'sback']);
  });
}

test('50 subscribers x 1,000 messages from 5 publishers, RESP2 and RESP3 mixed', async (defer) => {
  const nPub = 5, perPub = 200, channel = 'io.fan.ch';
  const subs = [];
  for (let i = 0; i < 50; i++) {
    const sub = open(defer, i % 2 ? 2 : 3);
    const state = { last: new Array(nPub).fill(-1), received: 0, error: null };
    const onMsg = (message) => {
      const [k, seq] = message.split(':').map(Number);
      if (seq !== state.last[k] + 1 && !state.error) state.error = `sub ${i}: publisher ${k} seq ${seq} after ${state.last[k]}`;
      state.last[k] = seq;
      state.received++;
    };
    if (i < 40) {
      sub.on('message', (_ch, message) => onMsg(message));
      assert.equal(await sub.subscribe(channel), 1);
    } else {
      sub.on('pmessage', (_p, _ch, message) => onMsg(message));
      assert.equal(await sub.psubscribe('io.fan.*'), 1);
    }
    subs.push(state);
  }
  const counts = await Promise.all([...Array(nPub).keys()].map(async (k) => {
    const pub = open(defer, k % 2 ? 2 : 3);
    const out = [];
    for (let seq = 0; seq < perPub; seq++) out.push(await pub.publish(channel, `${k}:${seq}`));
    return out;
  }));
  for (const c of counts) assert.deepEqual([...new Set(c)], [50], 'every PUBLISH reached 50 subscribers');
  await until('all 50,000 deliveries', () => subs.every((s) => s.received >= nPub * perPub), 30_000);
  for (const s of subs) {
    assert.equal(s.error, null);
    assert.equal(s.received, nPub * perPub);
    assert.deepEqual(s.last, new Array(nPub).fill(perPub - 1));
  }
});

// TLS (issue 7): the same server's TLS port (CLIENTS_TLS_PORT), certificates made for
// this run by tests/clients/tls-certs.sh; ioredis as its docs show it, `tls: { ca }`.
const TLS_PORT = Number(process.env.CLIENTS_TLS_PORT);
const TLS_DIR = process.env.CLIENTS_TLS_DIR;
if (!TLS_PORT || !TLS_DIR) {
  console.error('CLIENTS_TLS_PORT and CLIENTS_TLS_DIR must be set (run through tests/clients/run.sh)');
  process.exit(2);
}
const tlsFile = (name) => readFileSync(`${TLS_DIR}/${name}`);

for (const protocol of PROTOCOLS) {
  const tag = `[resp${protocol}]`;

  test(`TLS subscriber, plain publisher, 1 MiB message ${tag}`, async (defer) => {
    const sub = open(defer, protocol, { port: TLS_PORT, tls: { ca: tlsFile('ca.crt'), servername: 'localhost' } });
    const pub = open(defer, protocol);
    const inbox = new Inbox();
    sub.on('messageBuffer', (channel, message) => inbox.push([channel.toString(), message]));
    assert.equal(await sub.subscribe('io.tls.a'), 1);
    const big = Buffer.alloc(1024 * 1024, 0);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    for (const m of [Buffer.from('hello'), big, Buffer.from('after')]) {
      assert.equal(await pub.publish('io.tls.a', m), 1);
      const [ch, got] = await inbox.next();
      assert.equal(ch, 'io.tls.a');
      assert.ok(got.equals(m), `payload of ${m.length} bytes intact`);
    }
  });

  test(`TLS publisher with a client certificate ${tag}`, async (defer) => {
    const tlsOpts = { ca: tlsFile('ca.crt'), cert: tlsFile('client.crt'), key: tlsFile('client.key'), servername: 'localhost' };
    const sub = open(defer, protocol);
    const pub = open(defer, protocol, { port: TLS_PORT, tls: tlsOpts });
    const inbox = new Inbox();
    sub.on('message', (channel, message) => inbox.push([channel, message]));
    assert.equal(await sub.subscribe('io.tls.b'), 1);
    for (let i = 0; i < 200; i++) assert.equal(await pub.publish('io.tls.b', `m${i}`), 1);
    for (let i = 0; i < 200; i++) assert.deepEqual(await inbox.next(), ['io.tls.b', `m${i}`]);
  });
}

// ACL users (issue 7): an app logs in as its own user with `username`/`password`, as
// ioredis's docs show, over TLS and plain; the user's `&` channel rules decide.
for (const protocol of PROTOCOLS) {
  const tag = `[resp${protocol}]`;
  test(`ACL user with channel permissions, TLS subscriber and plain publisher ${tag}`, async (defer) => {
    const admin = open(defer, protocol);
    const name = `io-acl-${protocol}`;
    assert.equal(await admin.call('ACL', 'SETUSER', name, 'reset', 'on', '>io pw', '&io.acl.*',
      '+@pubsub', '+ping', '+info', '+hello', '+auth', '+acl|whoami'), 'OK');
    defer(() => admin.call('ACL', 'DELUSER', name));
    const as = { username: name, password: 'io pw' };
    const sub = open(defer, protocol, { ...as, port: TLS_PORT, tls: { ca: tlsFile('ca.crt'), servername: 'localhost' } });
    const pub = open(defer, protocol, as);
    assert.equal(await pub.call('ACL', 'WHOAMI'), name);
    const inbox = new Inbox();
    sub.on('message', (channel, message) => inbox.push([channel, message]));
    assert.equal(await sub.subscribe('io.acl.news'), 1);
    await assert.rejects(sub.subscribe('io.acl.news', 'io.secret'), /NOPERM/, 'one denied channel refuses the whole SUBSCRIBE');
    await assert.rejects(pub.publish('io.secret', 'x'), /NOPERM/);
    assert.equal(await pub.publish('io.acl.news', 'hi'), 1);
    assert.deepEqual(await inbox.next(), ['io.acl.news', 'hi']);
    assert.equal(await admin.call('PUBSUB', 'NUMSUB', 'io.secret').then((r) => r[1]), 0);
    const bad = open(defer, protocol, { username: name, password: 'wrong', retryStrategy: () => null, maxRetriesPerRequest: 0 });
    const err = await within(new Promise((res) => bad.once('error', res)), "an 'error' event for a wrong password");
    assert.match(String(err.message), /WRONGPASS/);
  });
}

test('TLS with the wrong CA fails verification', async (defer) => {
  const r = open(defer, 3, {
    port: TLS_PORT, tls: { ca: tlsFile('other-ca.crt'), servername: 'localhost' },
    maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false,
  });
  const err = await within(new Promise((res) => r.once('error', res)), "an 'error' event");
  assert.match(String(err.code ?? err.message), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|unable to verify|certificate/i);
});

await run('ioredis');
