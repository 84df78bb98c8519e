package respub.clients;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * The little test runner every Java suite shares, shaped like the Python and Node suites:
 * named checks run in order, each under {@link #TEST_TIMEOUT}, `ok`/`FAIL` per check and,
 * last, `SUITE: N passed, M failed`.
 *
 * Environment (set by ../run.sh): CLIENTS_HOST, CLIENTS_PORT, CLIENTS_CTL (server.sh).
 */
final class Harness {
    static final String HOST = System.getenv().getOrDefault("CLIENTS_HOST", "127.0.0.1");
    static final int PORT = Integer.parseInt(require("CLIENTS_PORT"));
    static final String CTL = require("CLIENTS_CTL");
    /** Per check; a check still running then counts as failed. */
    static final Duration TEST_TIMEOUT = Duration.ofSeconds(60);
    /** Any single expected event may take this long. */
    static final Duration WAIT = Duration.ofSeconds(5);

    interface Check {
        void run() throws Exception;
    }

    private record Test(String name, Check body) {}

    private final String suite;
    private final List<Test> tests = new ArrayList<>();
    private final List<Runnable> atExit = new ArrayList<>();

    Harness(String suite) {
        this.suite = suite;
    }

    void test(String name, Check body) {
        tests.add(new Test(name, body));
    }

    /** Register the check once per RESP version, named `name[resp2]` / `name[resp3]`. */
    void bothProtocols(String name, ProtoCheck body) {
        for (int proto : new int[] {2, 3}) {
            test(name + "[resp" + proto + "]", () -> body.run(proto));
        }
    }

    interface ProtoCheck {
        void run(int proto) throws Exception;
    }

    /** Cleanup run after the last check (shared clients). */
    void atExit(Runnable r) {
        atExit.add(r);
    }

    /** Runs the checks whose name contains any filter (all when none); returns the exit code. */
    int run(String header, List<String> filters) {
        System.out.println(header + " against " + HOST + ":" + PORT);
        int passed = 0, failed = 0;
        for (Test t : tests) {
            if (!filters.isEmpty() && filters.stream().noneMatch(t.name::contains)) {
                continue;
            }
            long t0 = System.nanoTime();
            // One daemon thread per check: a check stuck in a blocking read cannot keep the
            // JVM alive, and the runner moves on after TEST_TIMEOUT.
            ExecutorService ex = Executors.newSingleThreadExecutor(r -> {
                Thread th = new Thread(r, "check-" + t.name);
                th.setDaemon(true);
                return th;
            });
            Future<?> f = ex.submit(() -> {
                t.body.run();
                return null;
            });
            try {
                f.get(TEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                passed++;
                System.out.printf("ok   %s (%.2fs)%n", t.name, (System.nanoTime() - t0) / 1e9);
            } catch (TimeoutException e) {
                f.cancel(true);
                failed++;
                System.out.println("FAIL " + t.name + ": check exceeded " + TEST_TIMEOUT.toSeconds() + "s");
            } catch (ExecutionException e) {
                failed++;
                Throwable c = e.getCause();
                System.out.println("FAIL " + t.name + ": " + c);
                StackTraceElement[] st = c.getStackTrace();
                for (int i = 0; i < Math.min(st.length, 6); i++) {
                    System.out.println("        at " + st[i]);
                }
                if (c.getCause() != null) {
                    System.out.println("     caused by " + c.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failed++;
            } finally {
                ex.shutdownNow();
            }
            System.out.flush();
        }
        for (Runnable r : atExit) {
            try {
                r.run();
            } catch (RuntimeException e) {
                System.out.println("cleanup: " + e);
            }
        }
        System.out.println(suite + ": " + passed + " passed, " + failed + " failed");
        System.out.flush();
        return failed == 0 ? 0 : 1;
    }

    // ---------------------------------------------------------------- helpers for checks

    private static String require(String name) {
        String v = System.getenv(name);
        if (v == null || v.isEmpty()) {
            throw new IllegalStateException(name + " is not set (run through tests/clients/run.sh)");
        }
        return v;
    }

    /** tests/clients/server.sh with the given arguments; returns its stdout, trimmed. */
    static String ctl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(CTL);
        cmd.addAll(Arrays.asList(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("server.sh " + String.join(" ", args) + " took over 30s");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (p.exitValue() != 0) {
            throw new AssertionError("server.sh " + String.join(" ", args) + " exited " + p.exitValue());
        }
        return out;
    }

    static int ctlPort(String... args) throws Exception {
        return Integer.parseInt(ctl(args));
    }

    static void eq(Object got, Object want, String what) {
        boolean same = (got instanceof byte[] g && want instanceof byte[] w) ? Arrays.equals(g, w)
                : java.util.Objects.equals(got, want);
        if (!same) {
            throw new AssertionError(what + ": expected " + show(want) + ", got " + show(got));
        }
    }

    static void check(boolean cond, String what) {
        if (!cond) {
            throw new AssertionError(what);
        }
    }

    /** A printable, bounded rendering (1 MiB payloads must not flood the log). */
    static String show(Object o) {
        String s = o instanceof byte[] b ? "bytes[" + b.length + "] " + latin1(b) : String.valueOf(o);
        s = s.replace("\r", "\\r").replace("\n", "\\n").replace("\0", "\\0");
        return s.length() > 200 ? s.substring(0, 200) + "...(" + s.length() + " chars)" : s;
    }

    /** Bytes as a String, one char per byte: lossless, so binary payloads compare with equals. */
    static String latin1(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.ISO_8859_1);
    }

    static byte[] bytes(String latin1) {
        return latin1.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Next event from a callback queue; fails after {@link #WAIT}. */
    static <T> T next(BlockingQueue<T> q, String what) throws InterruptedException {
        return next(q, what, WAIT);
    }

    static <T> T next(BlockingQueue<T> q, String what, Duration wait) throws InterruptedException {
        T v = q.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
        if (v == null) {
            throw new AssertionError("no event within " + wait.toMillis() + "ms: waiting for " + what);
        }
        return v;
    }

    /** Nothing more arrives within `ms`. */
    static void none(BlockingQueue<?> q, long ms, String what) throws InterruptedException {
        Object v = q.poll(ms, TimeUnit.MILLISECONDS);
        if (v != null) {
            throw new AssertionError(what + ": unexpected " + show(v));
        }
    }

    /** Bounded poll: cond must become true within `wait`. */
    static void waitUntil(BooleanSupplier cond, Duration wait, String what) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + wait.toMillis() + "ms: " + what);
            }
            Thread.sleep(20);
        }
    }

    /** 1 MiB holding every byte value. */
    static byte[] mebibyte() {
        byte[] big = new byte[1 << 20];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) i;
        }
        return big;
    }

    static List<Object> ev(Object... parts) {
        return Arrays.asList(parts);
    }
}
