package dev.cacheaside.testing;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Redis Cluster of this test JVM: the cluster named by {@value #URI_ENV} when that is set,
 * otherwise three {@code redis-server} masters in cluster mode on 127.0.0.1 that this class starts
 * on first use (the same binary as {@link TestRedis}), and kills when the JVM exits.
 *
 * <p>Forming the cluster needs no {@code redis-cli}: each node is given a third of the 16384 slots
 * with {@code CLUSTER ADDSLOTS}, the first node {@code CLUSTER MEET}s the others, and {@link #get()}
 * returns once every node reports {@code cluster_state:ok} and all nodes describe the same three
 * masters with the same slots.
 *
 * <pre>{@code
 * TestRedisCluster cluster = TestRedisCluster.get();
 * try (var connection = cluster.client().connect()) {
 *   connection.sync().set("{user:42}:name", "Ada");
 * }
 * }</pre>
 */
public final class TestRedisCluster {

  /**
   * Environment variable naming an external cluster to use instead: one or more comma-separated
   * seed URIs, e.g. {@code redis://10.0.0.1:7000,redis://10.0.0.2:7000}. It must be one for tests
   * only: {@link RedisClusterExtension} deletes all its data before each test.
   */
  public static final String URI_ENV = "CACHE_ASIDE_REDIS_CLUSTER_URI";

  private static final Logger log = LoggerFactory.getLogger(TestRedisCluster.class);
  private static final int MASTERS = 3;
  private static final int SLOTS = 16384;
  private static final int BUS_PORT_OFFSET = 10000;
  private static final Duration FORM_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(10);

  private static @Nullable TestRedisCluster instance;
  private static @Nullable RuntimeException startFailure;

  private final List<RedisURI> uris;
  private final List<ServerProcess> processes;
  private final RedisClusterClient client;
  private final String version;

  private TestRedisCluster(List<RedisURI> uris, List<ServerProcess> processes) {
    this.uris = List.copyOf(uris);
    this.processes = List.copyOf(processes);
    this.client = RedisClusterClient.create(uris);
    Work.onExit(() -> client.shutdown(Duration.ZERO, Duration.ofSeconds(2)));
    try (StatefulRedisClusterConnection<String, String> connection = client.connect()) {
      connection.setTimeout(ADMIN_TIMEOUT);
      this.version = TestRedis.infoField(connection.sync().info("server"), "redis_version");
    }
  }

  /**
   * The Redis Cluster of this JVM, started and formed on the first call unless {@value #URI_ENV}
   * names one.
   *
   * @throws IllegalStateException if it cannot be started or does not converge within 30 seconds;
   *     the message names each node's output file. Later calls throw the same failure at once.
   */
  public static synchronized TestRedisCluster get() {
    if (startFailure != null) {
      throw new IllegalStateException("The test Redis Cluster failed to start earlier: " + startFailure.getMessage(),
          startFailure);
    }
    if (instance == null) {
      try {
        String external = Work.env(URI_ENV);
        instance = external != null
            ? new TestRedisCluster(parseUris(external), List.of())
            : startManaged();
      } catch (RuntimeException e) {
        startFailure = e;
        throw e;
      }
    }
    return instance;
  }

  /** Seed URIs from a comma-separated list; an element without a scheme is taken as {@code redis://}. */
  static List<RedisURI> parseUris(String text) {
    List<RedisURI> result = new ArrayList<>();
    for (String part : text.split(",")) {
      String trimmed = part.trim();
      if (!trimmed.isEmpty()) {
        result.add(RedisURI.create(trimmed.contains("://") ? trimmed : "redis://" + trimmed));
      }
    }
    if (result.isEmpty()) {
      throw new IllegalArgumentException(URI_ENV + " names no URI: '" + text + "'");
    }
    return result;
  }

  private static TestRedisCluster startManaged() {
    Path dir;
    try {
      dir = Files.createDirectories(Work.runDir().resolve("redis-cluster"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<ServerProcess> processes = new ArrayList<>();
    List<Integer> ports = new ArrayList<>();
    for (int node = 0; node < MASTERS; node++) {
      ServerProcess started = null;
      IllegalStateException last = null;
      for (int attempt = 0; attempt < 3 && started == null; attempt++) { // a free port may be taken before we bind it
        int port = freePortFor(ports);
        ServerProcess process = RedisServers.process("redis-cluster-" + port, port, dir, List.of(
            "--cluster-enabled", "yes",
            "--cluster-config-file", dir.resolve("nodes-" + port + ".conf").toString(),
            "--cluster-node-timeout", "5000"));
        try {
          RedisServers.startAndAwait(process, port);
          started = process;
          ports.add(port);
        } catch (IllegalStateException e) {
          last = e;
        }
      }
      if (started == null) {
        processes.forEach(p -> p.kill(Duration.ofSeconds(10)));
        throw last;
      }
      ServerProcess process = started;
      Work.onExit(() -> process.kill(Duration.ofSeconds(10)));
      processes.add(process);
    }
    try {
      form(ports);
    } catch (RuntimeException e) {
      String logs = processes.stream().map(p -> p.failure("node of the cluster"))
          .collect(Collectors.joining("\n"));
      processes.forEach(p -> p.kill(Duration.ofSeconds(10)));
      throw new IllegalStateException("Could not form a Redis Cluster of " + ports + ": " + e.getMessage()
          + "\n" + logs, e);
    }
    log.info("Started a Redis Cluster of {} masters on {}:{} (output in {})",
        MASTERS, Ports.LOOPBACK_HOST, ports, Work.logDir());
    List<RedisURI> uris = ports.stream().map(p -> RedisURI.create(Ports.LOOPBACK_HOST, p)).toList();
    return new TestRedisCluster(uris, processes);
  }

  /** A free port whose bus port is free too, and neither clashes with the nodes' ports so far. */
  private static int freePortFor(List<Integer> taken) {
    while (true) {
      int port = Ports.freeWithCompanion(BUS_PORT_OFFSET);
      if (!taken.contains(port) && !taken.contains(port + BUS_PORT_OFFSET) && !taken.contains(port - BUS_PORT_OFFSET)) {
        return port;
      }
    }
  }

  /** Gives each node its share of the slots, joins them, and waits until they agree. */
  private static void form(List<Integer> ports) {
    RedisClient admin = RedisClient.create();
    List<StatefulRedisConnection<String, String>> nodes = new ArrayList<>();
    try {
      for (int port : ports) {
        StatefulRedisConnection<String, String> node = admin.connect(RedisURI.create(Ports.LOOPBACK_HOST, port));
        node.setTimeout(ADMIN_TIMEOUT);
        nodes.add(node);
      }
      for (int i = 0; i < nodes.size(); i++) {
        int from = i * SLOTS / MASTERS;
        int to = (i + 1) * SLOTS / MASTERS; // exclusive
        nodes.get(i).sync().clusterAddSlots(IntStream.range(from, to).toArray());
      }
      for (int i = 1; i < nodes.size(); i++) {
        nodes.get(0).sync().clusterMeet(Ports.LOOPBACK_HOST, ports.get(i));
      }
      Await.until("the cluster nodes to agree", FORM_TIMEOUT, Duration.ofMillis(50),
          () -> converged(nodes) ? Boolean.TRUE : null);
    } finally {
      nodes.forEach(StatefulRedisConnection::close);
      admin.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  private static boolean converged(List<StatefulRedisConnection<String, String>> nodes) {
    Set<String> reference = null;
    for (StatefulRedisConnection<String, String> node : nodes) {
      String info = node.sync().clusterInfo();
      if (!"ok".equals(TestRedis.infoField(info, "cluster_state"))
          || !Integer.toString(SLOTS).equals(TestRedis.infoField(info, "cluster_slots_ok"))
          || !Integer.toString(nodes.size()).equals(TestRedis.infoField(info, "cluster_known_nodes"))) {
        return false;
      }
      Set<String> view = view(node.sync().clusterNodes());
      if (view == null || view.size() != nodes.size()) {
        return false;
      }
      if (reference == null) {
        reference = view;
      } else if (!reference.equals(view)) {
        return false;
      }
    }
    return true;
  }

  /**
   * One node's {@code CLUSTER NODES} reduced to what every node must agree on (id, address, role,
   * slots), or null while some node is still being met, has no known address or is not linked.
   */
  static @Nullable Set<String> view(String clusterNodes) {
    Set<String> view = new HashSet<>();
    for (String line : clusterNodes.split("\\R")) {
      if (line.isBlank()) {
        continue;
      }
      // <id> <ip:port@cport> <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot>...
      String[] fields = line.trim().split(" ");
      if (fields.length < 8) {
        return null;
      }
      String address = fields[1];
      String flags = fields[2].replace("myself,", "");
      if (address.startsWith(":") || !flags.equals("master") || !fields[7].equals("connected")) {
        return null;
      }
      String slots = String.join(" ", List.of(fields).subList(8, fields.length));
      view.add(fields[0] + " " + address + " " + flags + " " + slots);
    }
    return view;
  }

  /**
   * Kills master {@code node} (SIGKILL, like a crash; 0 to {@link #masterCount()} - 1, in the
   * order of {@link #uris()}) and waits for it to exit. Its data is gone; commands for its slots
   * fail until {@link #startNode} (the others go on: the cluster marks it failed only after the
   * node timeout, 5 s). Does nothing if it is stopped already.
   *
   * @throws IllegalStateException for an external cluster
   */
  public synchronized void stopNode(int node) {
    ServerProcess p = requireManaged(node, "stop");
    p.kill(Duration.ofSeconds(10));
    log.info("Stopped {}", p.name());
  }

  /**
   * Starts master {@code node} again on its port, empty, with its saved cluster configuration
   * (same id, same slots), and waits until every node reports the cluster ok again: a restarted
   * master refuses its slots ({@code CLUSTERDOWN}) for about two seconds before it takes them
   * back. Does nothing if it is running.
   *
   * @throws IllegalStateException for an external cluster, or if the cluster is not ok within 30 s
   */
  public synchronized void startNode(int node) {
    ServerProcess p = requireManaged(node, "start");
    if (!p.isAlive()) {
      RedisServers.startAndAwait(p, uris.get(node).getPort());
      log.info("Started {} again (pid {})", p.name(), p.pid());
    }
    awaitOk();
  }

  /** Starts every stopped node and waits until the cluster is ok. Nothing for an external one. */
  public synchronized void restore() {
    if (!managed()) {
      return;
    }
    boolean restarted = false;
    for (int node = 0; node < processes.size(); node++) {
      if (!processes.get(node).isAlive()) {
        RedisServers.startAndAwait(processes.get(node), uris.get(node).getPort());
        restarted = true;
      }
    }
    if (restarted) {
      awaitOk();
    }
  }

  private void awaitOk() {
    RedisClient admin = RedisClient.create();
    try {
      Await.until("the cluster to be ok", FORM_TIMEOUT, Duration.ofMillis(50), () -> {
        for (RedisURI uri : uris) {
          try (StatefulRedisConnection<String, String> node = admin.connect(uri)) {
            node.setTimeout(ADMIN_TIMEOUT);
            if (!"ok".equals(TestRedis.infoField(node.sync().clusterInfo(), "cluster_state"))) {
              return null;
            }
          }
        }
        return Boolean.TRUE;
      });
    } finally {
      admin.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  private ServerProcess requireManaged(int node, String operation) {
    if (!managed()) {
      throw new IllegalStateException("cannot " + operation + " a node of the external cluster "
          + uris + " (named by " + URI_ENV + "); outage tests need a managed one");
    }
    return processes.get(node);
  }

  /** Copies of the seed URIs: the nodes this class started, or those named by {@value #URI_ENV}. */
  public List<RedisURI> uris() {
    return uris.stream().map(uri -> RedisURI.builder(uri).build()).toList();
  }

  /** The Lettuce cluster client of this JVM; shut down when the JVM exits. Do not shut it down. */
  public RedisClusterClient client() {
    return client;
  }

  /** How many masters serve slots (3 for a managed cluster). */
  public int masterCount() {
    client.refreshPartitions();
    return (int) client.getPartitions().getPartitions().stream()
        .filter(node -> node.is(RedisClusterNode.NodeFlag.UPSTREAM))
        .count();
  }

  /** The {@code redis_version} of the nodes, e.g. {@code 6.2.11}. */
  public String version() {
    return version;
  }

  /** Whether this class started the nodes. */
  public boolean managed() {
    return !processes.isEmpty();
  }

  /** Deletes every key on every master (FLUSHALL on each), through a short-lived connection. */
  public void flushAll() {
    try (StatefulRedisClusterConnection<String, String> connection = client.connect()) {
      connection.setTimeout(ADMIN_TIMEOUT);
      connection.sync().upstream().commands().flushall();
    }
  }

  @Override
  public String toString() {
    return "TestRedisCluster" + uris + (managed() ? "" : " (external)");
  }
}
