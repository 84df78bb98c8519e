package respub.clients;
final class SpringSuite { static int run(java.util.List<String> f) { return 1; } }
