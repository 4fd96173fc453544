package dev.cacheaside.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy on the loopback interface that forwards commands to Redis at once but can hold
 * Redis's replies back: a test then knows a command has run on the server while its caller has
 * not seen the reply yet. Plain threads with blocking sockets (never Reactor's threads).
 */
final class ReplyHoldingProxy implements AutoCloseable {
  private final ServerSocket server;
  private final String upstreamHost;
  private final int upstreamPort;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final Object gate = new Object();
  private boolean holding;
  private volatile boolean closed;

  ReplyHoldingProxy(String upstreamHost, int upstreamPort) throws IOException {
    this.upstreamHost = upstreamHost;
    this.upstreamPort = upstreamPort;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::accept, "proxy-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return server.getLocalPort();
  }

  /** From now on, replies wait in the proxy. */
  void holdReplies() {
    synchronized (gate) {
      holding = true;
    }
  }

  /** Lets held and later replies through. */
  void releaseReplies() {
    synchronized (gate) {
      holding = false;
      gate.notifyAll();
    }
  }

  private void accept() {
    while (!closed) {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket(upstreamHost, upstreamPort);
        sockets.add(client);
        sockets.add(upstream);
        pump(client, upstream, false);
        pump(upstream, client, true);
      } catch (IOException e) {
        return;
      }
    }
  }

  private void pump(Socket from, Socket to, boolean replies) {
    Thread thread = new Thread(() -> {
      byte[] buffer = new byte[8192];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buffer)) >= 0) {
          if (replies) {
            awaitNotHolding();
          }
          out.write(buffer, 0, n);
          out.flush();
        }
      } catch (IOException | InterruptedException e) {
        // The other side closed: the pump ends.
      }
    }, replies ? "proxy-replies" : "proxy-commands");
    thread.setDaemon(true);
    thread.start();
  }

  private void awaitNotHolding() throws InterruptedException {
    synchronized (gate) {
      while (holding && !closed) {
        gate.wait();
      }
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    releaseReplies();
    server.close();
    for (Socket socket : sockets) {
      socket.close();
    }
  }
}
