package dev.cacheaside.examples.demo;

import java.io.PrintStream;

/**
 * Runs the demo's sections one after the other against the Redis and PostgreSQL of this JVM and
 * prints the report. Blocks the calling thread until it is done: call it from a main method or a
 * test, never on a Reactor thread.
 *
 * <pre>{@code
 * DemoRunner.run(DemoSizes.defaults(), System.out);
 * }</pre>
 */
public final class DemoRunner {
  private DemoRunner() {}

  /**
   * Runs every section with the given sizes and prints the report to {@code out}.
   *
   * @throws IllegalStateException if a server cannot be started or a section does not finish in
   *     time
   */
  public static void run(DemoSizes sizes, PrintStream out) {
    long start = System.nanoTime();
    Report report = new Report(out);
    try (DemoEnv env = new DemoEnv(sizes.products())) {
      report.line("cache-aside demo: Redis %s and PostgreSQL %s (%s), %d cores, ready in %.1f s",
          env.redis.version(), env.postgres.version(),
          env.redis.managed() && env.postgres.managed() ? "both started by the demo"
              : "from CACHE_ASIDE_REDIS_URI / CACHE_ASIDE_PG_URL",
          Runtime.getRuntime().availableProcessors(), Report.millisSince(start) / 1000);
      StampedeSection.run(env, sizes, report);
      StaleSetSection.run(env, report);
      NotFoundSection.run(env, report);
      BulkSection.run(env, sizes, report);
      MixedLoadSection.run(env, sizes, report);
      EarlyRefreshSection.run(env, sizes, report);
      // Last: it kills the Redis the other sections' connections use.
      OutageSection.run(env, sizes, report);
    }
    out.println();
    report.line("demo: done in %.1f s", Report.millisSince(start) / 1000);
  }
}
