package respub.clients;

import static respub.clients.Harness.*;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.protocol.ProtocolVersion;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.springframework.data.redis.connection.MessageListener;
import org.springframework.data.redis.connection.RedisPassword;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceClientConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.data.redis.listener.ChannelTopic;
import org.springframework.data.redis.listener.PatternTopic;
import org.springframework.data.redis.listener.RedisMessageListenerContainer;

/**
 * Spring Data Redis (pinned in pom.xml) without Spring Boot and without an application
 * context: plain Java builds a LettuceConnectionFactory and a RedisMessageListenerContainer,
 * calls afterPropertiesSet/start itself (what the context would do), registers
 * MessageListeners for ChannelTopic and PatternTopic, and publishes with
 * StringRedisTemplate.convertAndSend.
 */
final class SpringSuite {
    private SpringSuite() {}

    static LettuceConnectionFactory factory(int proto, int port, String password) {
        var server = new RedisStandaloneConfiguration(HOST, port);
        if (password != null) {
            server.setPassword(RedisPassword.of(password));
        }
        var client = LettuceClientConfiguration.builder()
                .clientOptions(ClientOptions.builder()
                        .protocolVersion(proto == 3 ? ProtocolVersion.RESP3 : ProtocolVersion.RESP2).build())
                .commandTimeout(Duration.ofSeconds(10))
                .build();
        var f = new LettuceConnectionFactory(server, client);
        f.afterPropertiesSet();
        f.start();
        return f;
    }

    static RedisMessageListenerContainer container(LettuceConnectionFactory f) {
        var c = new RedisMessageListenerContainer();
        c.setConnectionFactory(f);
        c.afterPropertiesSet();
        return c;
    }

    /** onMessage(message, pattern) as ["name", channel, body, pattern-or-null]. */
    static MessageListener recorder(String name, BlockingQueue<List<Object>> q) {
        return (message, pattern) -> q.add(ev(name, latin1(message.getChannel()), latin1(message.getBody()),
                latin1(pattern)));
    }

    /** Observer outside Spring (it has no PUBSUB NUMSUB API): a plain Lettuce connection. */
    static void waitNumsub(int port, String password, String channel, long want) throws InterruptedException {
        try (var c = LettuceSuite.client(2).connect(LettuceSuite.uri(port, password))) {
            waitUntil(() -> c.sync().pubsubNumsub(channel).get(channel) == want, WAIT,
                    "PUBSUB NUMSUB " + channel + " == " + want);
        }
    }

    static void waitNumsub(String channel, long want) throws InterruptedException {
        waitNumsub(PORT, null, channel, want);
    }

    static int run(List<String> filters) {
        Harness h = new Harness("spring-data-redis");
        h.atExit(LettuceSuite::shutdown);

        h.bothProtocols("listener_container_channel_and_pattern_topics", proto -> {
            LettuceConnectionFactory f = factory(proto, PORT, null);
            RedisMessageListenerContainer c = container(f);
            try {
                var t = new StringRedisTemplate(f);
                BlockingQueue<List<Object>> got = new LinkedBlockingQueue<>();
                MessageListener news = recorder("news", got), news2 = recorder("news2", got);
                MessageListener events = recorder("events", got);
                c.addMessageListener(news, new ChannelTopic("sp.news"));
                c.addMessageListener(news2, new ChannelTopic("sp.news"));
                c.addMessageListener(events, new PatternTopic("sp.ev.*"));
                c.start();
                check(c.isRunning(), "container running after start()");
                waitNumsub("sp.news", 1);
                // One container subscription serves both listeners of the channel.
                eq(t.convertAndSend("sp.news", "hello"), 1L, "convertAndSend to a ChannelTopic");
                Set<List<Object>> two = new HashSet<>(List.of(next(got, "news"), next(got, "news2")));
                eq(two, Set.of(ev("news", "sp.news", "hello", "sp.news"), ev("news2", "sp.news", "hello", "sp.news")),
                        "both channel listeners, pattern argument = the channel");
                eq(t.convertAndSend("sp.ev.created", "x\r\n\0y"), 1L, "convertAndSend matching the PatternTopic");
                eq(next(got, "events"), ev("events", "sp.ev.created", "x\r\n\0y", "sp.ev.*"), "pattern listener");
                eq(t.convertAndSend("sp.other", "z"), 0L, "convertAndSend with no listener");
                none(got, 200, "nothing else delivered");

                // Listeners added while running subscribe at once; removing the last listener
                // of a topic unsubscribes it.
                MessageListener late = recorder("late", got);
                c.addMessageListener(late, new ChannelTopic("sp.late"));
                waitNumsub("sp.late", 1);
                eq(t.convertAndSend("sp.late", "l"), 1L, "listener added at run time");
                eq(next(got, "late"), ev("late", "sp.late", "l", "sp.late"), "late listener");
                c.removeMessageListener(news, new ChannelTopic("sp.news"));
                eq(t.convertAndSend("sp.news", "still"), 1L, "one listener left on the channel");
                eq(next(got, "news2"), ev("news2", "sp.news", "still", "sp.news"), "remaining listener");
                c.removeMessageListener(news2);
                waitNumsub("sp.news", 0);
                eq(t.convertAndSend("sp.news", "gone"), 0L, "channel unsubscribed");
                eq(t.convertAndSend("sp.ev.more", "m"), 1L, "pattern still subscribed");
                eq(next(got, "events"), ev("events", "sp.ev.more", "m", "sp.ev.*"), "pattern listener");
                none(got, 200, "nothing else delivered");
            } finally {
                c.stop();
                c.destroy();
                f.destroy();
            }
            // stop()/destroy() closed the subscription connection.
            waitNumsub("sp.late", 0);
        });

        h.bothProtocols("many_messages_in_order", proto -> {
            LettuceConnectionFactory f = factory(proto, PORT, null);
            RedisMessageListenerContainer c = container(f);
            try {
                var t = new StringRedisTemplate(f);
                BlockingQueue<List<Object>> got = new LinkedBlockingQueue<>();
                c.addMessageListener(recorder("seq", got), new ChannelTopic("sp.seq"));
                c.start();
                waitNumsub("sp.seq", 1);
                for (int i = 0; i < 500; i++) {
                    eq(t.convertAndSend("sp.seq", Integer.toString(i)), 1L, "convertAndSend " + i);
                }
                // The container hands each message to its task executor, so listener calls
                // may run concurrently; every message must arrive exactly once.
                Set<Object> bodies = new HashSet<>();
                for (int i = 0; i < 500; i++) {
                    bodies.add(next(got, "message " + i).get(2));
                }
                eq(bodies.size(), 500, "distinct messages");
                none(got, 200, "no duplicate");
            } finally {
                c.stop();
                c.destroy();
                f.destroy();
            }
        });

        h.bothProtocols("password_auth", proto -> {
            String name = "spring-auth" + proto;
            int port = ctlPort("start", name, "auto", "s3cret pw");
            LettuceConnectionFactory f = factory(proto, port, "s3cret pw");
            RedisMessageListenerContainer c = container(f);
            try {
                var t = new StringRedisTemplate(f);
                BlockingQueue<List<Object>> got = new LinkedBlockingQueue<>();
                c.addMessageListener(recorder("auth", got), new ChannelTopic("sp.auth"));
                c.start();
                waitNumsub(port, "s3cret pw", "sp.auth", 1);
                eq(t.convertAndSend("sp.auth", "m"), 1L, "convertAndSend authenticated");
                eq(next(got, "auth"), ev("auth", "sp.auth", "m", "sp.auth"), "message");
                LettuceSuite.refusedWith("WRONGPASS invalid username-password pair", () -> {
                    LettuceConnectionFactory bad = factory(proto, port, "wrong");
                    try {
                        new StringRedisTemplate(bad).convertAndSend("sp.auth", "m");
                        throw new AssertionError("wrong password accepted");
                    } catch (org.springframework.data.redis.RedisConnectionFailureException e) {
                        return e;
                    } finally {
                        bad.destroy();
                    }
                });
            } finally {
                c.stop();
                c.destroy();
                f.destroy();
                ctl("stop", name);
            }
        });

        return h.run("spring-data-redis 4.1.2 (Lettuce 7.7.0.RELEASE)", filters);
    }
}
