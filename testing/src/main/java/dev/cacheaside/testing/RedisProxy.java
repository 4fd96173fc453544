package dev.cacheaside.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy on the loopback interface in front of a Redis, that can hold back either direction:
 * the commands (Redis has not seen them yet) or the replies (Redis has run the commands, their
 * callers have not heard). What is held is passed on, in order, when released. A test points a
 * client at {@link #port()} instead of the server's and decides what the server sees and when:
 * a stalled network or server without killing anything.
 *
 * <pre>{@code
 * try (RedisProxy proxy = new RedisProxy(uri.getHost(), uri.getPort())) {
 *   RedisURI proxied = RedisURI.builder(uri).withPort(proxy.port()).build();
 *   proxy.holdReplies();     // commands run, nobody hears back
 *   proxy.releaseReplies();
 * }
 * }</pre>
 *
 * <p>Plain threads with blocking sockets (never Reactor's threads), two per connection.
 */
public final class RedisProxy implements AutoCloseable {
  private final ServerSocket server;
  private final String upstreamHost;
  private final int upstreamPort;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final Gate commands = new Gate();
  private final Gate replies = new Gate();
  private final AtomicLong commandBytes = new AtomicLong();
  private volatile boolean closed;

  /**
   * Listens on a free loopback port and forwards every connection to {@code upstreamHost}:{@code
   * upstreamPort}.
   *
   * @throws IOException if it cannot listen
   */
  public RedisProxy(String upstreamHost, int upstreamPort) throws IOException {
    this.upstreamHost = upstreamHost;
    this.upstreamPort = upstreamPort;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::accept, "proxy-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** The port clients connect to. */
  public int port() {
    return server.getLocalPort();
  }

  /** From now on, Redis's replies wait in the proxy. */
  public void holdReplies() {
    replies.hold();
  }

  /** Lets held and later replies through. */
  public void releaseReplies() {
    replies.release();
  }

  /** From now on, commands wait in the proxy: Redis does not see them. */
  public void holdCommands() {
    commands.hold();
  }

  /** Lets held and later commands through to Redis. */
  public void releaseCommands() {
    commands.release();
  }

  /** How many bytes of commands have reached the proxy so far, held or passed on. */
  public long commandBytesReceived() {
    return commandBytes.get();
  }

  private void accept() {
    while (!closed) {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket(upstreamHost, upstreamPort);
        sockets.add(client);
        sockets.add(upstream);
        pump(client, upstream, commands, true);
        pump(upstream, client, replies, false);
      } catch (IOException e) {
        return;
      }
    }
  }

  private void pump(Socket from, Socket to, Gate gate, boolean counted) {
    Thread thread = new Thread(() -> {
      byte[] buffer = new byte[8192];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buffer)) >= 0) {
          if (counted) {
            commandBytes.addAndGet(n);
          }
          gate.await();
          out.write(buffer, 0, n);
          out.flush();
        }
      } catch (IOException | InterruptedException e) {
        // The other side closed: the pump ends.
      }
    }, counted ? "proxy-commands" : "proxy-replies");
    thread.setDaemon(true);
    thread.start();
  }

  /** Closes the port and every connection through it; held bytes are dropped. */
  @Override
  public void close() throws IOException {
    closed = true;
    commands.release();
    replies.release();
    server.close();
    for (Socket socket : sockets) {
      socket.close();
    }
  }

  /** One direction's hold. */
  private final class Gate {
    private boolean holding;

    synchronized void hold() {
      holding = true;
    }

    synchronized void release() {
      holding = false;
      notifyAll();
    }

    synchronized void await() throws InterruptedException {
      while (holding && !closed) {
        wait();
      }
    }
  }
}
