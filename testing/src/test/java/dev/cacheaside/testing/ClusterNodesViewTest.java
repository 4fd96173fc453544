package dev.cacheaside.testing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ClusterNodesViewTest {

  private static final String A = "a1 127.0.0.1:30001@40001 ";
  private static final String B = "b2 127.0.0.1:30002@40002 ";

  @Test
  void view_isTheSameFromEveryNode_whateverNodeSaysMyself() {
    String fromA = A + "myself,master - 0 0 1 connected 0-8191\n" + B + "master - 0 1 2 connected 8192-16383\n";
    String fromB = A + "master - 0 7 1 connected 0-8191\n" + B + "myself,master - 0 0 2 connected 8192-16383\n";

    assertThat(TestRedisCluster.view(fromA)).isNotNull().isEqualTo(TestRedisCluster.view(fromB));
  }

  @Test
  void view_isNull_whileANodeIsInHandshake_hasNoAddress_orIsNotLinked() {
    assertThat(TestRedisCluster.view(A + "myself,master - 0 0 1 connected 0-8191\n" + B + "handshake - 0 0 0 connected\n"))
        .isNull();
    assertThat(TestRedisCluster.view("a1 :30001@40001 myself,master - 0 0 1 connected 0-8191\n")).isNull();
    assertThat(TestRedisCluster.view(A + "master - 0 0 1 disconnected 0-8191\n")).isNull();
  }
}
