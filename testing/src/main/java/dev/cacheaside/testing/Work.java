package dev.cacheaside.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.Deque;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the servers of this JVM keep their files, and what happens to them when the JVM exits.
 *
 * <ul>
 *   <li>{@link #cacheDir()}: {@code <java.io.tmpdir>/cache-aside-<user>}, kept across JVMs (unpacked
 *       binaries live there, keyed by content).
 *   <li>{@link #runDir()}: a directory of this JVM's own (data directories, cluster config files),
 *       deleted at exit.
 *   <li>{@link #logDir()}: server output; {@code target/cache-aside-servers} of the module under test
 *       when Maven runs the tests, so it survives the run for reading.
 * </ul>
 *
 * <p>Exit actions run on one shutdown hook, last registered first: servers registered after the run
 * directory are stopped before it is deleted.
 */
final class Work {

  private static final Logger log = LoggerFactory.getLogger(Work.class);
  private static final Deque<Runnable> exitActions = new ArrayDeque<>();
  private static @Nullable Path runDir;
  private static @Nullable Path logDir;
  private static boolean hookInstalled;

  private Work() {}

  /** The value of an environment variable, or null when it is unset or blank. */
  static @Nullable String env(String name) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? null : value.trim();
  }

  static Path cacheDir() {
    String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9_.-]", "_");
    Path dir = Path.of(System.getProperty("java.io.tmpdir"), "cache-aside-" + user);
    return worldReadableDirectory(dir);
  }

  static synchronized Path runDir() {
    if (runDir == null) {
      try {
        Path dir = Files.createTempDirectory(cacheDir(), "run-" + ProcessHandle.current().pid() + "-");
        runDir = worldReadableDirectory(dir);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create a working directory under " + cacheDir(), e);
      }
      Path dir = runDir;
      onExit(() -> deleteRecursively(dir));
    }
    return runDir;
  }

  static synchronized Path logDir() {
    if (logDir == null) {
      String basedir = System.getProperty("basedir"); // set by surefire and failsafe
      Path target = basedir == null ? null : Path.of(basedir, "target");
      Path dir = target != null && Files.isDirectory(target)
          ? target.resolve("cache-aside-servers")
          : cacheDir().resolve("logs");
      try {
        logDir = Files.createDirectories(dir);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create the log directory " + dir, e);
      }
    }
    return logDir;
  }

  /** Runs {@code action} when the JVM exits, before every action registered earlier. */
  static synchronized void onExit(Runnable action) {
    if (!hookInstalled) {
      Runtime.getRuntime().addShutdownHook(new Thread(Work::runExitActions, "cache-aside-test-servers-exit"));
      hookInstalled = true;
    }
    exitActions.push(action);
  }

  private static void runExitActions() {
    while (true) {
      Runnable action;
      synchronized (Work.class) {
        action = exitActions.poll();
      }
      if (action == null) {
        return;
      }
      try {
        action.run();
      } catch (RuntimeException | Error e) {
        log.warn("Cleanup at exit failed", e);
      }
    }
  }

  /** Creates {@code dir} if needed; rwxr-xr-x, so a server run as another user can reach below it. */
  static Path worldReadableDirectory(Path dir) {
    try {
      Files.createDirectories(dir);
      if (Files.getFileStore(dir).supportsFileAttributeView("posix")) {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create directory " + dir, e);
    }
  }

  static void deleteRecursively(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try {
      Files.walkFileTree(root, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          Files.deleteIfExists(file);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path dir, @Nullable IOException exc) throws IOException {
          Files.deleteIfExists(dir);
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      log.warn("Could not delete {}: {}", root, e.toString());
    }
  }
}
