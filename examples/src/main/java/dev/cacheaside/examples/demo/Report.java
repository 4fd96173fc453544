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

  void section(String title, String explanation) {
    out.println();
    line("%d. %s. %s", ++sections, title, explanation);
  }

  /** A result row: an indented label column, then the measured numbers. */
  void row(String label, String format, Object... args) {
    line("   %-" + LABEL_WIDTH + "s %s", label, String.format(Locale.ROOT, format, args));
  }

  /** The p-th percentile (0..100) of nanosecond samples, in milliseconds; 0 without samples. */
  static double percentileMillis(long[] nanos, double p) {
    if (nanos.length == 0) {
      return 0;
    }
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, index))] / 1e6;
  }

  static double millisSince(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e6;
  }
}
