package dev.cacheaside.examples;

import dev.cacheaside.examples.demo.DemoRunner;
import dev.cacheaside.examples.demo.DemoSizes;

/**
 * The demo (README's first command, {@code mvn -B -q -Pdemo -DskipTests package}): shows the
 * library's main claims against a real Redis and a real PostgreSQL, embedded ones unless
 * {@code CACHE_ASIDE_REDIS_URI} / {@code CACHE_ASIDE_PG_URL} name servers, and prints a short
 * report of what it measured. Exits 0 when every section ran.
 */
public final class Demo {
  private Demo() {}

  /** Runs the demo with its default sizes; no arguments. */
  public static void main(String[] args) {
    // Library and driver logs (a reconnecting Lettuce while Redis is down) would drown the report.
    if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
      System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "error");
    }
    try {
      DemoRunner.run(DemoSizes.defaults(), System.out);
    } catch (RuntimeException e) {
      e.printStackTrace();
      System.exit(1);
    }
    System.exit(0);
  }
}
