package dev.cacheaside.testing;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * One external process whose output goes to a log file, never to the console, and whose failures
 * name that file and end with its last lines.
 *
 * <p>Signals other than TERM and KILL go through {@code sh -c 'kill -s SIG pid'}: the JDK has no API
 * for them, and a shell's {@code kill} is there even where {@code /bin/kill} (procps) is not.
 */
final class ServerProcess {

  private static final int TAIL_LINES = 25;

  private final String name;
  private final List<String> command;
  private final Path logFile;
  private volatile @Nullable Process process;
  private long logOffset;

  ServerProcess(String name, List<String> command, Path logFile) {
    this.name = name;
    this.command = List.copyOf(command);
    this.logFile = logFile;
  }

  String name() {
    return name;
  }

  Path logFile() {
    return logFile;
  }

  synchronized void start() {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException(name + " is already running as pid " + process.pid());
    }
    try {
      Files.createDirectories(logFile.getParent());
      String header = "\n=== " + Instant.now() + " starting " + name + ": " + String.join(" ", command) + "\n";
      Files.writeString(logFile, header, StandardCharsets.UTF_8,
          StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      logOffset = Files.size(logFile) - header.getBytes(StandardCharsets.UTF_8).length;
      process = new ProcessBuilder(command)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
          .redirectInput(ProcessBuilder.Redirect.from(nullDevice()))
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException(failure("could not start " + String.join(" ", command)), e);
    }
  }

  synchronized boolean isAlive() {
    return process != null && process.isAlive();
  }

  synchronized long pid() {
    return requireProcess().pid();
  }

  /**
   * Waits at most {@code timeout} for the process to exit.
   *
   * @return its exit code, or -1 if it is still running
   */
  int awaitExit(Duration timeout) {
    Process p;
    synchronized (this) {
      p = requireProcess();
    }
    try {
      return p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? p.exitValue() : -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for " + name + " to exit", e);
    }
  }

  /** Sends {@code signal} (STOP, CONT, INT, ...) to the process. */
  void signal(String signal) {
    long pid = pid();
    try {
      Process kill = new ProcessBuilder("sh", "-c", "kill -s " + signal + " " + pid)
          .redirectErrorStream(true)
          .start();
      String output = new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new IllegalStateException("kill -s " + signal + " " + pid + " (" + name + ") failed: " + output);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not run kill -s " + signal + " " + pid, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while signalling " + name, e);
    }
  }

  /**
   * Whether the kernel reports the process as stopped by a signal; true where that cannot be read
   * (no {@code /proc}), since then nothing better can be known.
   */
  boolean isSignalStopped() {
    Path stat = Path.of("/proc", Long.toString(pid()), "stat");
    if (!Files.isReadable(stat)) {
      return true;
    }
    try {
      String text = Files.readString(stat, StandardCharsets.US_ASCII);
      // "pid (comm) S ...": comm may contain spaces and parentheses, the state follows the last ')'
      int end = text.lastIndexOf(')');
      char state = end >= 0 && end + 2 < text.length() ? text.charAt(end + 2) : '?';
      return state == 'T' || state == 't';
    } catch (IOException e) {
      return true;
    }
  }

  /** Kills the process (SIGKILL) and waits for it to exit. */
  void kill(Duration timeout) {
    Process p;
    synchronized (this) {
      p = process;
    }
    if (p == null || !p.isAlive()) {
      return;
    }
    p.destroyForcibly();
    if (awaitExit(timeout) == -1 && p.isAlive()) {
      throw new IllegalStateException(name + " (pid " + p.pid() + ") did not exit within " + timeout + " of SIGKILL");
    }
  }

  /**
   * Stops the process gently with {@code signal}, then with SIGKILL if it has not exited within
   * {@code grace}.
   */
  void stop(String signal, Duration grace) {
    if (!isAlive()) {
      return;
    }
    try {
      signal(signal);
    } catch (IllegalStateException e) {
      // it may have exited in between; SIGKILL below settles it either way
    }
    if (awaitExit(grace) == -1) {
      kill(Duration.ofSeconds(10));
    }
  }

  /** A message for a failure of this process: what failed, the log file, and its last lines. */
  String failure(String what) {
    StringBuilder message = new StringBuilder(name).append(": ").append(what)
        .append("\n  output: ").append(logFile);
    Process p = process;
    if (p != null && !p.isAlive()) {
      message.append("\n  exit code: ").append(p.exitValue());
    }
    List<String> tail = tail();
    if (!tail.isEmpty()) {
      message.append("\n  last lines:");
      tail.forEach(line -> message.append("\n    | ").append(line));
    }
    return message.toString();
  }

  /** The last lines this process (its latest start) wrote. */
  List<String> tail() {
    try (RandomAccessFile file = new RandomAccessFile(logFile.toFile(), "r")) {
      long from = Math.max(logOffset, file.length() - 16 * 1024);
      file.seek(from);
      byte[] bytes = new byte[(int) (file.length() - from)];
      file.readFully(bytes);
      Deque<String> lines = new ArrayDeque<>();
      for (String line : new String(bytes, StandardCharsets.UTF_8).split("\\R")) {
        if (!line.isBlank()) {
          lines.addLast(line);
          if (lines.size() > TAIL_LINES) {
            lines.removeFirst();
          }
        }
      }
      return List.copyOf(lines);
    } catch (IOException e) {
      return List.of("(could not read " + logFile + ": " + e + ")");
    }
  }

  private Process requireProcess() {
    if (process == null) {
      throw new IllegalStateException(name + " was never started");
    }
    return process;
  }

  private static java.io.File nullDevice() {
    return new java.io.File(System.getProperty("os.name").startsWith("Windows") ? "NUL" : "/dev/null");
  }

  @Override
  public String toString() {
    Process p = process;
    return name + (p == null ? " (not started)" : " (pid " + p.pid() + (p.isAlive() ? ")" : ", exited)"));
  }
}
