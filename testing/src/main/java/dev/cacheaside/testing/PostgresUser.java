package dev.cacheaside.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Whom {@code initdb} and {@code postgres} run as. PostgreSQL refuses to run as root ("cannot be run
 * as root"), and tests often do (containers, CI machines), so:
 *
 * <ol>
 *   <li>not root: as the current user;
 *   <li>root, and {@code unshare -U} works: in a new user namespace with no mapping, where the
 *       process's uid reads as the overflow uid (65534), not 0, so PostgreSQL's check passes; the
 *       kernel still sees the files' real owner, root, so the data directory needs no chown;
 *   <li>root without user namespaces (Docker's default seccomp profile forbids them): as
 *       {@code nobody} through {@code setpriv}, with the data directory chowned to it;
 *   <li>otherwise: a failure saying so.
 * </ol>
 *
 * <p>The system property {@value #PROPERTY} ({@code auto}, {@code current}, {@code unshare},
 * {@code setpriv}) forces one, for trying them out.
 */
enum PostgresUser {
  CURRENT(List.of()),
  USER_NAMESPACE(List.of("unshare", "-U", "--")),
  NOBODY(List.of()); // its prefix names the uid, see prefix()

  static final String PROPERTY = "cache-aside.postgres.user";

  private static final int FALLBACK_NOBODY_ID = 65534;

  private final List<String> prefix;

  PostgresUser(List<String> prefix) {
    this.prefix = prefix;
  }

  /** The command line that runs {@code command} as this user. */
  List<String> wrap(List<String> command) {
    List<String> result = new ArrayList<>(prefix());
    result.addAll(command);
    return result;
  }

  private List<String> prefix() {
    if (this != NOBODY) {
      return prefix;
    }
    int[] ids = nobody();
    return List.of("setpriv", "--reuid=" + ids[0], "--regid=" + ids[1], "--clear-groups", "--");
  }

  /** Makes {@code dataDirectory} (already created) owned by the user PostgreSQL will run as. */
  void prepare(Path dataDirectory) {
    if (this != NOBODY) {
      return;
    }
    int[] ids = nobody();
    try {
      Files.setAttribute(dataDirectory, "unix:uid", ids[0]);
      Files.setAttribute(dataDirectory, "unix:gid", ids[1]);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot hand " + dataDirectory + " to uid " + ids[0], e);
    }
  }

  static PostgresUser detect() {
    String forced = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
    switch (forced) {
      case "auto":
        break;
      case "current":
        return CURRENT;
      case "unshare":
        return USER_NAMESPACE;
      case "setpriv":
        return NOBODY;
      default:
        throw new IllegalArgumentException(PROPERTY + " must be auto, current, unshare or setpriv, not '" + forced + "'");
    }
    if (currentUid() != 0) {
      return CURRENT;
    }
    String unshare = run(USER_NAMESPACE.wrap(List.of("true")));
    if (unshare.isEmpty()) {
      return USER_NAMESPACE;
    }
    String setpriv = run(NOBODY.wrap(List.of("true")));
    if (setpriv.isEmpty()) {
      return NOBODY;
    }
    throw new IllegalStateException("PostgreSQL refuses to run as root, and this JVM runs as root with no way"
        + " to drop that here:\n  unshare -U (a user namespace): " + unshare
        + "\n  setpriv (to run as nobody): " + setpriv
        + "\nRun the tests as another user, allow user namespaces (e.g. docker run --security-opt"
        + " seccomp=unconfined), install util-linux, or set " + TestPostgres.URL_ENV + " to a server to use.");
  }

  /** Runs a probe; returns "" on success, else what went wrong. */
  private static String run(List<String> command) {
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        return String.join(" ", command) + " did not return within 10 s";
      }
      return process.exitValue() == 0
          ? ""
          : String.join(" ", command) + " failed with exit code " + process.exitValue() + ": " + output;
    } catch (IOException e) {
      return String.join(" ", command) + " could not run: " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static int currentUid() {
    try {
      return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).intValue();
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return "root".equals(System.getProperty("user.name")) ? 0 : -1;
    }
  }

  /** The uid and gid of {@code nobody} from /etc/passwd, else 65534: PostgreSQL must find it there. */
  private static int[] nobody() {
    try {
      for (String line : Files.readAllLines(Path.of("/etc/passwd"), StandardCharsets.UTF_8)) {
        String[] fields = line.split(":");
        if (fields.length > 3 && fields[0].equals("nobody")) {
          return new int[] {Integer.parseInt(fields[2]), Integer.parseInt(fields[3])};
        }
      }
    } catch (IOException | NumberFormatException e) {
      // fall through
    }
    return new int[] {FALLBACK_NOBODY_ID, FALLBACK_NOBODY_ID};
  }
}
