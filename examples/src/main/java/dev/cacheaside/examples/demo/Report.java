package dev.cacheaside.examples.demo;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;

/**
 * The demo's output: a numbered heading with one explanatory sentence per section, then result
 * rows whose labels share one column. Only the main thread prints (a print is blocking I/O, which
 * BlockHound forbids on Reactor's threads).
 */
final class Report {
  static final int LABEL_WIDTH = 16;
  static final int WIDTH = 100;

  private final PrintStream out;
  private int sections;

  Report(PrintStream out) {
    this.out = out;
  }

  /** Prints a line as it is: for the lines whose exact text other tools look for. */
  void line(String format, Object... args) {
    out.println(String.format(Locale.ROOT, format, args));
    out.flush();
  }

  /** A blank line, then "n. Title." and the explanation, wrapped at {@link #WIDTH} columns. */
  void section(String title, String explanation) {
    out.println();
    line("%d. %s.", ++sections, title);
    StringBuilder current = new StringBuilder("  ");
    for (String word : explanation.split(" ")) {
      if (current.length() + 1 + word.length() > WIDTH) {
        out.println(current);
        current = new StringBuilder("  ");
      }
      current.append(' ').append(word);
    }
    line("%s", current);
  }

  /** A result row: an indented label column, then the measured numbers. */
  void row(String label, String format, Object... args) {
    line("   %-" + LABEL_WIDTH + "s %s", label, String.format(Locale.ROOT, format, args));
  }

  /**
   * "p50 x ms, p99 y ms" of nanosecond samples (nearest rank), with {@code decimals} digits;
   * "no samples" when there are none.
   */
  static String p50p99(long[] nanos, int decimals) {
    if (nanos.length == 0) {
      return "no samples";
    }
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    String format = "p50 %." + decimals + "f ms, p99 %." + decimals + "f ms";
    return String.format(Locale.ROOT, format, rank(sorted, 0.50) / 1e6, rank(sorted, 0.99) / 1e6);
  }

  static String p99(long[] nanos) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    return nanos.length == 0 ? "p99 -" : String.format(Locale.ROOT, "p99 %5.1f ms",
        rank(sorted, 0.99) / 1e6);
  }

  private static long rank(long[] sorted, double quantile) {
    return sorted[Math.max(0, (int) Math.ceil(quantile * sorted.length) - 1)];
  }

  static double millisSince(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e6;
  }
}
