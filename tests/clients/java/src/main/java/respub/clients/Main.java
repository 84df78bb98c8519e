package respub.clients;

import java.util.Arrays;
import java.util.List;

/** `java respub.clients.Main SUITE [name-filter...]` with SUITE jedis, lettuce or spring-data-redis. */
public final class Main {
    public static void main(String[] args) {
        if (args.length == 0) {
            System.err.println("usage: Main jedis|lettuce|spring-data-redis [name-filter...]");
            System.exit(2);
        }
        // Lettuce and Netty log through java.util.logging here (SLF4J is the no-op provider):
        // reconnect notices are expected, so only SEVERE gets printed.
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        root.setLevel(java.util.logging.Level.SEVERE);
        for (var handler : root.getHandlers()) {
            handler.setLevel(java.util.logging.Level.SEVERE);
        }
        List<String> filters = Arrays.asList(args).subList(1, args.length);
        int rc;
        switch (args[0]) {
            case "jedis" -> rc = JedisSuite.run(filters);
            case "lettuce" -> rc = LettuceSuite.run(filters);
            case "spring-data-redis" -> rc = SpringSuite.run(filters);
            default -> {
                System.err.println("unknown suite " + args[0]);
                rc = 2;
            }
        }
        // Client libraries may leave non-daemon threads behind (event loops, pools) after a
        // failed check; the verdict is printed, so leave now.
        System.exit(rc);
    }
}
