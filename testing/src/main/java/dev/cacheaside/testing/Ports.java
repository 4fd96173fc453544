package dev.cacheaside.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * Free loopback ports. A port found free can be taken by someone else before our server binds it;
 * callers start the server and retry on a new port when that happens.
 */
final class Ports {

  /** 127.0.0.1, what every server here binds (not ::1, whatever the JVM prefers). */
  static final String LOOPBACK_HOST = "127.0.0.1";

  static final InetAddress LOOPBACK;

  static {
    try {
      LOOPBACK = InetAddress.getByAddress(LOOPBACK_HOST, new byte[] {127, 0, 0, 1});
    } catch (java.net.UnknownHostException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private Ports() {}

  /** A port the kernel considers free on the loopback interface now. */
  static int free() {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(LOOPBACK, 0), 1);
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port on " + LOOPBACK, e);
    }
  }

  /**
   * A free port {@code p} such that {@code p + offset} is free too: a Redis Cluster node also listens
   * on its bus port, its port plus 10000 (Redis 6 has no option to choose it).
   */
  static int freeWithCompanion(int offset) {
    for (int attempt = 0; attempt < 200; attempt++) {
      int port = free();
      if (port + offset <= 65535 && isFree(port + offset)) {
        return port;
      }
    }
    throw new IllegalStateException("found no free port p with p+" + offset + " free too on " + LOOPBACK);
  }

  static boolean isFree(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(LOOPBACK, port), 1);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
