package dev.cacheaside.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.cacheaside.testing.TestRedis;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Runs the whole demo in this JVM with small sizes against the real Redis and PostgreSQL of the
 * testing module, and checks its report: every line is there, and the numbers that do not depend
 * on timing are the ones the library guarantees. Timings are printed, never asserted.
 */
class DemoIT {
  private static final int INSTANCES = 3;
  private static final int PER_INSTANCE = 50;
  private static final int PRODUCTS = 1_000;
  private static final int BULK_IDS = 950;
  private static final int BULK_WINDOW = 100;
  private static final int MIXED_REQUESTS = 1_000;

  private static final DemoSizes SMALL = new DemoSizes(INSTANCES, PER_INSTANCE,
      Duration.ofMillis(50), PRODUCTS, BULK_IDS, BULK_WINDOW, MIXED_REQUESTS, 16, 5, 1.0, 200,
      Duration.ofMillis(500), Duration.ofMillis(500), Duration.ofMillis(300),
      Duration.ofMillis(500), Duration.ofMillis(50), 3, 200);

  private static List<String> lines = List.of();

  @BeforeAll
  static void runDemo() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
      DemoRunner.run(SMALL, out);
    }
    String report = bytes.toString(StandardCharsets.UTF_8);
    System.out.println(report);
    lines = report.lines().toList();
  }

  @Test
  void stampede_withLeases_oneLoaderCallAcrossInstances() {
    assertThat(lines).as("the exact line of issue 2")
        .contains("stampede: " + INSTANCES * PER_INSTANCE + " concurrent requests, 1 loader calls");
    int total = INSTANCES * PER_INSTANCE;
    assertThat(numbers("leases \\(default\\) +(\\d+) loader call, ([\\d,]+) of ([\\d,]+) callers"))
        .containsExactly(1L, (long) total, (long) total);
    List<Long> plain = numbers("leases off +(\\d+) loader calls \\(one per instance\\),"
        + " ([\\d,]+) of ([\\d,]+) callers");
    assertThat(plain.get(0)).as("without leases each instance may load").isBetween(1L,
        (long) INSTANCES);
    assertThat(plain.subList(1, 3)).containsExactly((long) total, (long) total);
  }

  @Test
  void staleSetRace_staleEntryOnlyWithoutLeases() {
    assertThat(find("leases off +the cache then serves \"(\\w+)\" \\((.*)\\)"))
        .containsExactly("old", "stale entry left until its TTL");
    assertThat(find("leases \\(default\\) +the cache then serves \"(\\w+)\" \\((.*)\\)"))
        .containsExactly("new", "no stale entry; 1 late store refused");
  }

  @Test
  void notFoundCorruptAndForeign_oneQueryAndAMiss_foreignLeftAlone() {
    assertThat(numbers("missing id +(\\d+) reads, (\\d+) query")).containsExactly(5L, 1L);
    assertThat(find("corrupt entry +answered by (\\w+) .*, (\\d+) corrupt entry counted"))
        .containsExactly("PostgreSQL", "1");
    assertThat(find("foreign value +answered by (\\w+) .*, (\\d+) foreign entry counted and"
        + " (left alone|deleted)")).containsExactly("PostgreSQL", "1", "left alone");
  }

  @Test
  void bulk_oneMultiGetAndOneQueryPerWindow() {
    long windows = (BULK_IDS + BULK_WINDOW - 1) / BULK_WINDOW;
    assertThat(numbers("cold cache +([\\d,]+) ids, ([\\d,]+) found: (\\d+) multi-gets,"
        + " (\\d+) lease round trips, (\\d+) DB queries, (\\d+) batched stores"))
        .containsExactly((long) BULK_IDS, (long) BULK_IDS, windows, windows, windows, windows);
    assertThat(numbers("warm cache +([\\d,]+) ids, ([\\d,]+) found: (\\d+) multi-gets,"
        + " (\\d+) DB queries"))
        .containsExactly((long) BULK_IDS, (long) BULK_IDS, windows, 0L);
  }

  @Test
  void mixedLoad_noFailureAndNoStaleReadBack() {
    List<Long> requests = numbers("requests +([\\d,]+) reads, ([\\d,]+) writes, ([\\d,]+) failed");
    assertThat(requests.get(0) + requests.get(1)).isEqualTo(MIXED_REQUESTS);
    assertThat(requests.get(1)).as("some writes").isPositive();
    assertThat(requests.get(2)).as("failed").isZero();
    assertThat(find("^ +hit ratio +([\\d.]+) %")).hasSize(1);
    assertThat(find("read latency +p50 ([\\d.]+) ms, p99 ([\\d.]+) ms")).hasSize(2);
    assertThat(find("write latency +p50 ([\\d.]+) ms, p99 ([\\d.]+) ms")).hasSize(2);
    assertThat(numbers("read-back +([\\d,]+) of ([\\d,]+) written").get(0)).as("stale").isZero();
  }

  @Test
  void earlyRefresh_xfetchMakesFewerCallersWait() {
    List<Long> none = numbers("none +([\\d,]+) reads, ([\\d,]+) waited for a load;"
        + " ([\\d,]+) loads \\(0 in the background\\)");
    List<Long> xfetch = numbers("xfetch\\(1\\.0\\) +([\\d,]+) reads, ([\\d,]+) waited for a"
        + " load; ([\\d,]+) loads \\(([\\d,]+) in the background\\)");
    assertThat(xfetch.get(0)).as("same reads side by side").isEqualTo(none.get(0));
    assertThat(none.get(1)).as("without early refresh every expiry makes callers wait")
        .isPositive();
    assertThat(xfetch.get(1)).as("callers who waited with xfetch").isLessThan(none.get(1));
    assertThat(xfetch.get(3)).as("background refreshes").isPositive();
  }

  @Test
  void redisOutage_noReadFailsAndTheStoreRecovers() {
    assumeTrue(TestRedis.get().managed(), "the demo kills only a Redis it started");
    for (String phase : List.of("before", "Redis down", "reconnecting", "recovered")) {
      List<Long> counts = numbers(Pattern.quote(phase) + " +([\\d,]+) reads served, ([\\d,]+)"
          + " failed;.*; ([\\d,]+) writes, ([\\d,]+) failed");
      assertThat(counts.get(0)).as(phase + ": reads served").isPositive();
      assertThat(counts.get(1)).as(phase + ": reads failed").isZero();
      assertThat(counts.get(3)).as(phase + ": writes failed").isZero();
    }
    assertThat(find("recovery +circuit breaker closed (\\d+) ms after the restart;"
        + " ([\\d,]+) invalidations queued while down, ([\\d,]+) replayed, (none owed)"))
        .hasSize(4);
  }

  @Test
  void report_endsWithDone() {
    assertThat(lines.get(0)).startsWith("cache-aside demo: Redis ");
    assertThat(lines).anyMatch(line -> line.matches("demo: done in [\\d.]+ s"));
  }

  /** The groups of the single line matching {@code regex} (anywhere in it). */
  private static List<String> find(String regex) {
    Pattern pattern = Pattern.compile(regex);
    List<Matcher> matches = lines.stream().map(pattern::matcher).filter(Matcher::find).toList();
    assertThat(matches).as("lines matching /%s/ in%n%s", regex, String.join("\n", lines))
        .hasSize(1);
    Matcher m = matches.get(0);
    return java.util.stream.IntStream.rangeClosed(1, m.groupCount()).mapToObj(m::group).toList();
  }

  private static List<Long> numbers(String regex) {
    return find(regex).stream().map(s -> Long.parseLong(s.replace(",", ""))).toList();
  }
}
