package dev.cacheaside.testing;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import redis.embedded.core.ExecutableProvider;
import redis.embedded.model.OsArchitecture;

/**
 * Starting {@code redis-server} processes: which binary, which arguments, and when one is ready.
 *
 * <p>The binary is {@code redis-server} from {@code PATH} when there is one. Otherwise it is the one
 * {@code com.github.codemonstur:embedded-redis} ships for this OS and architecture: that jar holds
 * plain executables at its root ({@code /redis-server-6.2.6-v5-linux-amd64}, ...; the map from
 * platform to resource is its {@link ExecutableProvider#newProvidedVersionsMap()}). We copy it once
 * into {@link Work#cacheDir()} under a name derived from its SHA-256, make it executable, and run it
 * ourselves; the library's own server classes are not used.
 */
final class RedisServers {

  static final Duration START_TIMEOUT = Duration.ofSeconds(20);
  static final Duration POLL = Duration.ofMillis(20);

  private static @Nullable Path binary;

  private RedisServers() {}

  /** The {@code redis-server} to run, found or unpacked on first call. */
  static synchronized Path binary() {
    if (binary == null) {
      Path found = onPath("redis-server");
      binary = found != null ? found : unpackEmbedded();
      checkRuns(binary);
    }
    return binary;
  }

  /**
   * A process for a standalone server on 127.0.0.1:{@code port} that keeps nothing on disk: no RDB
   * snapshots, no AOF; {@code dir} is its working directory.
   */
  static ServerProcess process(String name, int port, Path dir, List<String> extraArgs) {
    List<String> command = new ArrayList<>(List.of(
        binary().toString(),
        "--port", Integer.toString(port),
        "--bind", Ports.LOOPBACK_HOST,
        "--save", "",
        "--appendonly", "no",
        "--dir", dir.toString(),
        "--daemonize", "no"));
    command.addAll(extraArgs);
    return new ServerProcess(name, command, Work.logDir().resolve(name.replace(' ', '-') + ".log"));
  }

  /** Starts {@code process} and waits until it answers PING on {@code port}. */
  static void startAndAwait(ServerProcess process, int port) {
    process.start();
    awaitPing(process, port);
  }

  static void awaitPing(ServerProcess process, int port) {
    try {
      Await.until(process.name() + " to answer PING", START_TIMEOUT, POLL, () -> {
        if (!process.isAlive()) {
          throw new Await.Abort("the process exited");
        }
        return ping(port, Duration.ofMillis(500)) ? Boolean.TRUE : null;
      });
    } catch (IllegalStateException e) {
      process.kill(Duration.ofSeconds(10));
      throw new IllegalStateException(process.failure("did not start: " + e.getMessage()), e);
    }
  }

  /** Whether a server on 127.0.0.1:{@code port} answers PING within {@code timeout}: raw RESP. */
  static boolean ping(int port, Duration timeout) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(Ports.LOOPBACK, port), (int) timeout.toMillis());
      socket.setSoTimeout((int) timeout.toMillis());
      OutputStream out = socket.getOutputStream();
      out.write("*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      byte[] expected = "+PONG\r\n".getBytes(StandardCharsets.US_ASCII);
      for (byte b : expected) {
        if (in.read() != b) {
          return false; // -LOADING, -ERR, a closed connection: not ready
        }
      }
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static @Nullable Path onPath(String name) {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path candidate = Path.of(dir, name);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return null;
  }

  private static Path unpackEmbedded() {
    OsArchitecture platform;
    try {
      platform = OsArchitecture.detectOSandArchitecture();
    } catch (RuntimeException e) {
      throw new IllegalStateException("There is no redis-server on PATH, and embedded-redis does not know this"
          + " platform (" + System.getProperty("os.name") + "/" + System.getProperty("os.arch") + "): install"
          + " redis-server, or set " + TestRedis.URI_ENV + ".", e);
    }
    String resource = ExecutableProvider.newProvidedVersionsMap().get(platform);
    if (resource == null) {
      throw new IllegalStateException("There is no redis-server on PATH, and embedded-redis ships none for "
          + platform.os + "/" + platform.arch + ": install redis-server, or set " + TestRedis.URI_ENV + ".");
    }
    byte[] bytes;
    try (InputStream in = ExecutableProvider.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("embedded-redis lists " + resource + " but its jar does not hold it");
      }
      bytes = in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + resource + " from the embedded-redis jar", e);
    }
    String fileName = resource.substring(resource.lastIndexOf('/') + 1);
    Path dir = Work.worldReadableDirectory(Work.cacheDir().resolve("redis-" + sha256(bytes).substring(0, 16)));
    Path target = dir.resolve(fileName);
    if (Files.isRegularFile(target) && Files.isExecutable(target)) {
      return target; // another JVM unpacked the same bytes before
    }
    try {
      // written aside and renamed into place, so a concurrent JVM never runs a half-written file
      Path partial = Files.createTempFile(dir, fileName, ".partial");
      Files.write(partial, bytes);
      if (Files.getFileStore(partial).supportsFileAttributeView("posix")) {
        Files.setPosixFilePermissions(partial, PosixFilePermissions.fromString("rwxr-xr-x"));
      } else if (!partial.toFile().setExecutable(true, false)) {
        throw new IOException("cannot make " + partial + " executable");
      }
      Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot unpack " + resource + " into " + dir, e);
    }
  }

  /** Runs {@code redis-server --version}, so that a binary that cannot run here fails clearly. */
  private static void checkRuns(Path binary) {
    String output;
    int exit;
    try {
      Process process = new ProcessBuilder(binary.toString(), "--version").redirectErrorStream(true).start();
      output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException(binary + " --version did not return within 30 s");
      }
      exit = process.exitValue();
    } catch (IOException e) {
      throw new IllegalStateException("Cannot run " + binary + " (" + e.getMessage() + "). If the temporary"
          + " directory is mounted noexec, point java.io.tmpdir elsewhere; or put a redis-server on PATH, or set "
          + TestRedis.URI_ENV + ".", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + binary + " --version", e);
    }
    if (exit != 0) {
      throw new IllegalStateException(binary + " --version failed with exit code " + exit + ": " + output
          + "\nPut a redis-server that runs on this machine on PATH, or set " + TestRedis.URI_ENV + ".");
    }
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
