package respub.clients;

import static respub.clients.Harness.*;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.protocol.ProtocolVersion;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.DefaultEventLoopGroupProvider;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import reactor.core.Disposable;

/**
 * Lettuce (io.lettuce:lettuce-core, pinned in pom.xml): StatefulRedisPubSubConnection with
 * listener callbacks, the sync, async and reactive APIs, RESP2 and RESP3 (its default, with
 * HELLO 3), auth, and the watchdog that reconnects and resubscribes after a server restart.
 *
 * One RedisClient per protocol is shared by all checks (Netty event loops are costly to
 * start); each check opens and closes its own connections.
 */
final class LettuceSuite {
    private LettuceSuite() {}

    private static final ClientResources RESOURCES = DefaultClientResources.builder()
            .ioThreadPoolSize(2).computationThreadPoolSize(2).build();
    private static final Map<Integer, RedisClient> CLIENTS = new java.util.concurrent.ConcurrentHashMap<>();

    static RedisClient client(int proto) {
        return CLIENTS.computeIfAbsent(proto, p -> {
            RedisClient c = RedisClient.create(RESOURCES);
            c.setOptions(ClientOptions.builder()
                    .protocolVersion(p == 3 ? ProtocolVersion.RESP3 : ProtocolVersion.RESP2).build());
            return c;
        });
    }

    static void shutdown() {
        CLIENTS.values().forEach(c -> c.shutdown(Duration.ZERO, Duration.ofSeconds(2)));
        RESOURCES.shutdown(0, 2, TimeUnit.SECONDS);
    }

    static RedisURI uri(int port, String password) {
        var b = RedisURI.builder().withHost(HOST).withPort(port).withTimeout(Duration.ofSeconds(10));
        if (password != null) {
            b.withPassword((CharSequence) password);
        }
        return b.build();
    }

    static RedisURI uri() {
        return uri(PORT, null);
    }

    /** Listener callbacks as events: ["subscribed", channel, count], ["message", ch, data]... */
    static final class Recorder<K, V> extends RedisPubSubAdapter<K, V> {
        final BlockingQueue<List<Object>> events = new LinkedBlockingQueue<>();

        private Object k(Object o) {
            return o instanceof byte[] b ? latin1(b) : o;
        }

        @Override public void message(K ch, V m) { events.add(ev("message", k(ch), k(m))); }
        @Override public void message(K p, K ch, V m) { events.add(ev("pmessage", k(p), k(ch), k(m))); }
        @Override public void subscribed(K ch, long n) { events.add(ev("subscribed", k(ch), n)); }
        @Override public void psubscribed(K p, long n) { events.add(ev("psubscribed", k(p), n)); }
        @Override public void unsubscribed(K ch, long n) { events.add(ev("unsubscribed", k(ch), n)); }
        @Override public void punsubscribed(K p, long n) { events.add(ev("punsubscribed", k(p), n)); }
        @Override public void ssubscribed(K ch, long n) { events.add(ev("ssubscribed", k(ch), n)); }
        @Override public void sunsubscribed(K ch, long n) { events.add(ev("sunsubscribed", k(ch), n)); }
        @Override public void smessage(K ch, V m) { events.add(ev("smessage", k(ch), k(m))); }
    }

    static int run(List<String> filters) {
        Harness h = new Harness("lettuce");
        h.atExit(LettuceSuite::shutdown);

        h.test("default_options_handshake", () -> {
            // No protocolVersion set: Lettuce opens with HELLO 3 (falling back to RESP2 only
            // if HELLO is unknown), then works as usual.
            RedisClient c = RedisClient.create(RESOURCES);
            var r = new Recorder<String, String>();
            try (StatefulRedisConnection<String, String> conn = c.connect(uri());
                    var sub = c.connectPubSub(uri())) {
                eq(conn.sync().ping(), "PONG", "PING");
                eq(conn.sync().publish("l.nobody", "m"), 0L, "PUBLISH with no subscriber");
                sub.addListener(r);
                sub.sync().subscribe("l.default");
                eq(next(r.events, "subscribed"), ev("subscribed", "l.default", 1L), "confirmation");
                eq(conn.sync().publish("l.default", "m"), 1L, "PUBLISH");
                eq(next(r.events, "message"), ev("message", "l.default", "m"), "message");
            } finally {
                c.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            }
        });

        h.bothProtocols("listener_subscribe_publish_unsubscribe", proto -> {
            var r = new Recorder<String, String>();
            try (StatefulRedisPubSubConnection<String, String> sub = client(proto).connectPubSub(uri());
                    StatefulRedisConnection<String, String> pub = client(proto).connect(uri())) {
                sub.addListener(r);
                sub.sync().subscribe("l.s.a", "l.s.b", "l.s.c");
                eq(next(r.events, "subscribed"), ev("subscribed", "l.s.a", 1L), "confirmation 1");
                eq(next(r.events, "subscribed"), ev("subscribed", "l.s.b", 2L), "confirmation 2");
                eq(next(r.events, "subscribed"), ev("subscribed", "l.s.c", 3L), "confirmation 3");
                for (String ch : new String[] {"l.s.c", "l.s.a", "l.s.b", "l.s.a"}) {
                    eq(pub.sync().publish(ch, "to " + ch), 1L, "PUBLISH " + ch);
                }
                for (String ch : new String[] {"l.s.c", "l.s.a", "l.s.b", "l.s.a"}) {
                    eq(next(r.events, "message"), ev("message", ch, "to " + ch), "delivery order");
                }
                eq(pub.sync().publish("l.s.other", "x"), 0L, "PUBLISH to an unsubscribed channel");
                sub.sync().unsubscribe("l.s.b");
                eq(next(r.events, "unsubscribed"), ev("unsubscribed", "l.s.b", 2L), "partial UNSUBSCRIBE");
                eq(pub.sync().publish("l.s.b", "x"), 0L, "PUBLISH to the dropped channel");
                sub.sync().unsubscribe();
                Set<List<Object>> got = new HashSet<>();
                got.add(next(r.events, "unsubscribed"));
                got.add(next(r.events, "unsubscribed"));
                var chans = new java.util.TreeSet<Object>();
                var counts = new java.util.TreeSet<Object>();
                for (var e : got) {
                    chans.add(e.get(1));
                    counts.add(e.get(2));
                }
                eq(chans.toString(), "[l.s.a, l.s.c]", "full UNSUBSCRIBE channels");
                eq(counts.toString(), "[0, 1]", "full UNSUBSCRIBE counts");
                // The same connection serves normal commands again.
                eq(sub.sync().publish("l.s.a", "x"), 0L, "PUBLISH on the former subscriber");
                none(r.events, 100, "nothing else delivered");
            }
        });

        h.bothProtocols("listener_patterns", proto -> {
            var r = new Recorder<String, String>();
            try (var sub = client(proto).connectPubSub(uri()); var pub = client(proto).connect(uri())) {
                sub.addListener(r);
                sub.sync().psubscribe("l.g.*", "l.g.?", "l.g.[a-c]x");
                eq(next(r.events, "psubscribed"), ev("psubscribed", "l.g.*", 1L), "confirmation 1");
                eq(next(r.events, "psubscribed"), ev("psubscribed", "l.g.?", 2L), "confirmation 2");
                eq(next(r.events, "psubscribed"), ev("psubscribed", "l.g.[a-c]x", 3L), "confirmation 3");
                Object[][] cases = {
                    {"l.g.b", List.of("l.g.*", "l.g.?")},
                    {"l.g.bx", List.of("l.g.*", "l.g.[a-c]x")},
                    {"l.g.long:name.with:sep", List.of("l.g.*")},
                    {"l.h.b", List.of()},
                };
                for (Object[] c : cases) {
                    String ch = (String) c[0];
                    @SuppressWarnings("unchecked") List<String> pats = (List<String>) c[1];
                    eq(pub.sync().publish(ch, ch), (long) pats.size(), "PUBLISH " + ch + " receivers");
                    var got = new java.util.TreeSet<String>();
                    for (int i = 0; i < pats.size(); i++) {
                        List<Object> e = next(r.events, "pmessage");
                        eq(e.subList(2, 4), List.of(ch, ch), "pmessage channel and data");
                        got.add((String) e.get(1));
                    }
                    eq(got, new java.util.TreeSet<>(pats), "patterns matching " + ch);
                }
                none(r.events, 200, "no extra pmessage");
                sub.sync().punsubscribe("l.g.?");
                eq(next(r.events, "punsubscribed"), ev("punsubscribed", "l.g.?", 2L), "partial PUNSUBSCRIBE");
                sub.sync().subscribe("l.g.plain");
                eq(next(r.events, "subscribed"), ev("subscribed", "l.g.plain", 3L), "shared count");
                eq(pub.sync().publish("l.g.plain", "both"), 2L, "channel + matching pattern");
                Set<List<Object>> both = new HashSet<>(List.of(next(r.events, "m1"), next(r.events, "m2")));
                eq(both, Set.of(ev("message", "l.g.plain", "both"), ev("pmessage", "l.g.*", "l.g.plain", "both")),
                        "message and pmessage");
            }
        });

        h.bothProtocols("reactive_observe_channels_and_patterns", proto -> {
            BlockingQueue<List<Object>> got = new LinkedBlockingQueue<>();
            try (var sub = client(proto).connectPubSub(uri()); var pub = client(proto).connect(uri())) {
                var rx = sub.reactive();
                Disposable d1 = rx.observeChannels().subscribe(m -> got.add(ev("channel", m.getChannel(), m.getMessage())));
                Disposable d2 = rx.observePatterns().subscribe(
                        m -> got.add(ev("pattern", m.getPattern(), m.getChannel(), m.getMessage())));
                try {
                    rx.subscribe("l.rx.a", "l.rx.b").block(WAIT);
                    rx.psubscribe("l.rx.p.*").block(WAIT);
                    eq(pub.reactive().publish("l.rx.b", "one").block(WAIT), 1L, "reactive PUBLISH");
                    eq(pub.reactive().publish("l.rx.p.q", "two").block(WAIT), 1L, "PUBLISH to pattern");
                    eq(pub.reactive().publish("l.rx.a", "three").block(WAIT), 1L, "PUBLISH a");
                    eq(next(got, "channel message"), ev("channel", "l.rx.b", "one"), "observeChannels 1");
                    eq(next(got, "pattern message"), ev("pattern", "l.rx.p.*", "l.rx.p.q", "two"), "observePatterns");
                    eq(next(got, "channel message"), ev("channel", "l.rx.a", "three"), "observeChannels 2");
                    eq(pub.reactive().pubsubNumsub("l.rx.a", "l.rx.b").block(WAIT),
                            Map.of("l.rx.a", 1L, "l.rx.b", 1L), "PUBSUB NUMSUB");
                    rx.unsubscribe("l.rx.a").block(WAIT);
                    eq(pub.reactive().publish("l.rx.a", "gone").block(WAIT), 0L, "after reactive unsubscribe");
                    none(got, 200, "nothing after unsubscribe");
                } finally {
                    d1.dispose();
                    d2.dispose();
                }
            }
        });

        h.bothProtocols("async_ping_and_introspection", proto -> {
            var r = new Recorder<String, String>();
            try (var sub = client(proto).connectPubSub(uri()); var sub2 = client(proto).connectPubSub(uri());
                    var c = client(proto).connect(uri())) {
                long baseNumpat = c.sync().pubsubNumpat();
                sub.addListener(r);
                sub.async().subscribe("l.i.one", "l.i.two").get(5, TimeUnit.SECONDS);
                sub2.async().subscribe("l.i.two").get(5, TimeUnit.SECONDS);
                sub2.async().psubscribe("l.i.pat.*", "l.i.pat.?").get(5, TimeUnit.SECONDS);
                // PING on a subscribed connection: RESP2 answers ["pong", ""], which Lettuce
                // returns as "" (the argument); RESP3 answers +PONG.
                eq(sub.async().ping().get(5, TimeUnit.SECONDS), proto == 2 ? "" : "PONG", "PING while subscribed");
                eq(new java.util.TreeSet<>(c.sync().pubsubChannels("l.i.*")).toString(), "[l.i.one, l.i.two]",
                        "PUBSUB CHANNELS pattern");
                eq(c.sync().pubsubNumsub("l.i.one", "l.i.two", "l.i.none"),
                        Map.of("l.i.one", 1L, "l.i.two", 2L, "l.i.none", 0L), "PUBSUB NUMSUB");
                eq(c.sync().pubsubNumpat(), baseNumpat + 2, "PUBSUB NUMPAT");
                eq(c.async().publish("l.i.two", "m").get(5, TimeUnit.SECONDS), 2L, "PUBLISH counts both");
                eq(c.sync().publish("l.i.pat.x", "m"), 2L, "PUBLISH counts both patterns");
                next(r.events, "subscribed"); next(r.events, "subscribed");
                eq(next(r.events, "message"), ev("message", "l.i.two", "m"), "message after PING");
            }
            try (var c = client(proto).connect(uri())) {
                waitUntil(() -> c.sync().pubsubChannels("l.i.*").isEmpty(), WAIT, "released on close");
            }
        });

        h.bothProtocols("shard_channels", proto -> {
            var r = new Recorder<String, String>();
            try (var sub = client(proto).connectPubSub(uri()); var pub = client(proto).connect(uri())) {
                sub.addListener(r);
                sub.sync().ssubscribe("l.sh.a", "l.sh.b");
                eq(next(r.events, "ssubscribed"), ev("ssubscribed", "l.sh.a", 1L), "SSUBSCRIBE 1");
                eq(next(r.events, "ssubscribed"), ev("ssubscribed", "l.sh.b", 2L), "SSUBSCRIBE 2");
                eq(pub.sync().spublish("l.sh.b", "\0s"), 1L, "SPUBLISH receivers");
                eq(pub.sync().publish("l.sh.b", "not shard"), 0L, "PUBLISH does not reach shard subscribers");
                eq(next(r.events, "smessage"), ev("smessage", "l.sh.b", "\0s"), "smessage");
                eq(pub.sync().pubsubShardChannels("l.sh.*").size(), 2, "PUBSUB SHARDCHANNELS");
                eq(pub.sync().pubsubShardNumsub("l.sh.a"), Map.of("l.sh.a", 1L), "PUBSUB SHARDNUMSUB");
                sub.sync().sunsubscribe("l.sh.a");
                eq(next(r.events, "sunsubscribed"), ev("sunsubscribed", "l.sh.a", 1L), "partial SUNSUBSCRIBE");
                eq(pub.sync().spublish("l.sh.a", "x"), 0L, "SPUBLISH after SUNSUBSCRIBE");
                none(r.events, 100, "nothing else");
            }
        });

        h.bothProtocols("binary_and_1mib_payloads", proto -> {
            var r = new Recorder<byte[], byte[]>();
            byte[] ch = bytes("l.bin\0\r\nch\u00ff");
            try (var sub = client(proto).connectPubSub(ByteArrayCodec.INSTANCE, uri());
                    var pub = client(proto).connect(ByteArrayCodec.INSTANCE, uri())) {
                sub.addListener(r);
                sub.sync().subscribe(ch);
                eq(next(r.events, "subscribed"), ev("subscribed", latin1(ch), 1L), "binary confirmation");
                byte[][] payloads = {
                    bytes("a\0b\r\nc\r\n"), new byte[0], bytes("*3\r\n$7\r\nmessage\r\n"), mebibyte(),
                    bytes(">3\r\n$7\r\nmessage\r\n"), bytes("\u00ff\u00fe"),
                };
                for (byte[] p : payloads) {
                    eq(pub.sync().publish(ch, p), 1L, "PUBLISH of " + p.length + " bytes");
                }
                for (byte[] p : payloads) {
                    eq(next(r.events, "binary message", Duration.ofSeconds(10)), ev("message", latin1(ch), latin1(p)),
                            "payload of " + p.length + " bytes");
                }
            }
        });

        h.bothProtocols("password_auth", proto -> {
            String name = "lettuce-auth" + proto;
            int port = ctlPort("start", name, "auto", "s3cret pw");
            try {
                var r = new Recorder<String, String>();
                try (var sub = client(proto).connectPubSub(uri(port, "s3cret pw"));
                        var pub = client(proto).connect(uri(port, "s3cret pw"))) {
                    eq(pub.sync().ping(), "PONG", "PING after AUTH / HELLO AUTH");
                    sub.addListener(r);
                    sub.sync().subscribe("l.auth");
                    eq(next(r.events, "subscribed"), ev("subscribed", "l.auth", 1L), "SUBSCRIBE authenticated");
                    eq(pub.sync().publish("l.auth", "m"), 1L, "PUBLISH authenticated");
                    eq(next(r.events, "message"), ev("message", "l.auth", "m"), "message");
                }
                expectConnectFailure(proto, uri(port, "wrong"), "WRONGPASS invalid username-password pair");
                // Without credentials the handshake itself is refused: RESP3 sends HELLO 3,
                // RESP2 sends PING (Lettuce pings before activating the connection).
                expectConnectFailure(proto, uri(port, null), proto == 3
                        ? "NOAUTH HELLO must be called with the client already authenticated"
                        : "NOAUTH Authentication required.");
            } finally {
                ctl("stop", name);
            }
        });

        h.bothProtocols("resubscribe_after_restart", proto -> {
            String name = "lettuce-restart" + proto;
            int port = ctlPort("start", name);
            try {
                var r = new Recorder<String, String>();
                try (var sub = client(proto).connectPubSub(uri(port, null))) {
                    sub.addListener(r);
                    sub.sync().subscribe("l.rs.a", "l.rs.b");
                    sub.sync().psubscribe("l.rs.p.*");
                    sub.sync().ssubscribe("l.rs.s");
                    for (int i = 0; i < 4; i++) {
                        next(r.events, "confirmation");
                    }
                    ctl("restart", name);
                    // The watchdog reconnects (with backoff) and re-sends SUBSCRIBE, PSUBSCRIBE
                    // and SSUBSCRIBE; the listener sees the confirmations again.
                    Set<List<Object>> again = new HashSet<>();
                    for (int i = 0; i < 4; i++) {
                        List<Object> e = next(r.events, "resubscribe confirmation", Duration.ofSeconds(20));
                        again.add(ev(e.get(0), e.get(1)));
                    }
                    eq(again, Set.of(ev("subscribed", "l.rs.a"), ev("subscribed", "l.rs.b"),
                            ev("psubscribed", "l.rs.p.*"), ev("ssubscribed", "l.rs.s")), "resubscribed");
                    try (var pub = client(proto).connect(uri(port, null))) {
                        eq(pub.sync().publish("l.rs.b", "back"), 1L, "PUBLISH after restart");
                        eq(next(r.events, "message"), ev("message", "l.rs.b", "back"), "message after restart");
                        eq(pub.sync().publish("l.rs.p.x", "pback"), 1L, "pattern after restart");
                        eq(next(r.events, "pmessage"), ev("pmessage", "l.rs.p.*", "l.rs.p.x", "pback"), "pmessage");
                        eq(pub.sync().spublish("l.rs.s", "sback"), 1L, "shard channel after restart");
                        eq(next(r.events, "smessage"), ev("smessage", "l.rs.s", "sback"), "smessage");
                    }
                }
            } finally {
                ctl("stop", name);
            }
        });

        h.bothProtocols("publish_right_after_async_subscribe", proto -> {
            // SUBSCRIBE is dispatched on one connection without waiting for its reply, and
            // PUBLISH goes out at once on another. Netty queues each write on the channel's
            // event loop; with Lettuce's default resources (at least 2 I/O threads) the two
            // connections sit on different loops and the PUBLISH can leave first, so even
            // redis-server answers 0 now and then (seen: 5 of 20). One event loop for both
            // connections (ioThreadPoolSize(1) is raised to 2 by Lettuce, so the provider is
            // given directly) writes SUBSCRIBE before PUBLISH; the server must then run them
            // in arrival order: redis-server answers 1 every time.
            ClientResources one = DefaultClientResources.builder()
                    .eventLoopGroupProvider(new DefaultEventLoopGroupProvider(1)).build();
            RedisClient c = RedisClient.create(one);
            c.setOptions(ClientOptions.builder()
                    .protocolVersion(proto == 3 ? ProtocolVersion.RESP3 : ProtocolVersion.RESP2).build());
            try (var pub = c.connect(uri())) {
                List<String> wrong = new ArrayList<>();
                for (int i = 0; i < 50; i++) {
                    String ch = "l.race." + proto + "." + i;
                    var r = new Recorder<String, String>();
                    try (var sub = c.connectPubSub(uri())) {
                        sub.addListener(r);
                        var subscribed = sub.async().subscribe(ch);
                        long n = pub.sync().publish(ch, "m" + i);
                        subscribed.get(5, TimeUnit.SECONDS);
                        if (n != 1) {
                            wrong.add(ch + " PUBLISH=" + n);
                            continue;
                        }
                        eq(next(r.events, "confirmation"), ev("subscribed", ch, 1L), "confirmation first");
                        eq(next(r.events, "message"), ev("message", ch, "m" + i), "message");
                    }
                }
                check(wrong.isEmpty(), wrong.size() + " of 50 PUBLISH right after another connection's"
                        + " SUBSCRIBE answered 0 (message lost): " + wrong);
            } finally {
                c.shutdown(Duration.ZERO, Duration.ofSeconds(2));
                one.shutdown(0, 2, TimeUnit.SECONDS);
            }
        });

        return h.run("lettuce 7.7.0.RELEASE", filters);
    }

    static void expectConnectFailure(int proto, RedisURI u, String text) throws InterruptedException {
        refusedWith(text, () -> {
            try (var c = client(proto).connect(u)) {
                c.sync().ping();
                throw new AssertionError("connect with " + u + " succeeded");
            } catch (io.lettuce.core.RedisConnectionException e) {
                return e;
            }
        });
    }

    interface Attempt {
        Exception run() throws InterruptedException;
    }

    /**
     * Every attempt must fail (the attempt throws AssertionError otherwise), and the server's
     * error text must show up in a failure's cause chain. Lettuce races its own handshake
     * failure: it closes the channel on the error reply, and now and then (about 1 in 25
     * runs, against redis-server too) channelInactive wins and the failure reads only
     * "Connection closed prematurely". So up to 3 refused attempts, one must carry the text.
     */
    static void refusedWith(String text, Attempt attempt) throws InterruptedException {
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Exception e = attempt.run();
            String all = "";
            for (Throwable t = e; t != null; t = t.getCause()) {
                all += t.getMessage() + " | ";
            }
            if (all.contains(text)) {
                return;
            }
            seen.add(all);
        }
        throw new AssertionError("expected '" + text + "' in a connect failure, got " + seen);
    }
}
