package dev.cacheaside.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(RedisClusterExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RedisClusterServerIT {

  @Test
  @Order(1)
  void get_formsThreeMastersThatServeEverySlot(TestRedisCluster cluster) {
    assertThat(TestRedisCluster.get()).isSameAs(cluster);
    assertThat(cluster.masterCount()).isEqualTo(3);
    if (cluster.managed()) {
      assertThat(cluster.uris()).hasSize(3).allSatisfy(uri -> assertThat(uri.getHost()).isEqualTo("127.0.0.1"));
    }
    int slots = cluster.client().getPartitions().getPartitions().stream()
        .filter(node -> node.is(RedisClusterNode.NodeFlag.UPSTREAM))
        .mapToInt(node -> node.getSlots().size())
        .sum();
    assertThat(slots).isEqualTo(SlotHash.SLOT_COUNT);
  }

  @Test
  @Order(2)
  void keys_spreadOverEveryMaster_andReadBackThroughTheClusterClient(RedisClusterClient client) {
    try (StatefulRedisClusterConnection<String, String> connection = client.connect()) {
      RedisAdvancedClusterCommands<String, String> commands = connection.sync();
      Map<String, String> nodeByKey = new HashMap<>();
      for (int i = 0; i < 30; i++) {
        String key = "RedisClusterServerIT:" + i;
        commands.set(key, "value-" + i);
        int slot = commands.clusterKeyslot(key).intValue();
        assertThat(slot).as("server and client agree on the slot of %s", key).isEqualTo(SlotHash.getSlot(key));
        nodeByKey.put(key, client.getPartitions().getPartitionBySlot(slot).getNodeId());
      }

      Set<String> nodes = Set.copyOf(nodeByKey.values());
      assertThat(nodes).as("masters holding the 30 keys").hasSize(3);
      for (int i = 0; i < 30; i++) {
        assertThat(commands.get("RedisClusterServerIT:" + i)).isEqualTo("value-" + i);
      }
      Map<String, Long> keysPerNode = nodeByKey.values().stream()
          .collect(Collectors.groupingBy(node -> node, Collectors.counting()));
      for (String node : nodes) {
        assertThat(connection.getConnection(node).sync().dbsize())
            .as("keys stored on node %s", node)
            .isEqualTo(keysPerNode.get(node));
      }
    }
  }

  @Test
  @Order(3)
  void eachTest_startsWithEveryMasterEmpty(RedisClusterClient client) {
    try (StatefulRedisClusterConnection<String, String> connection = client.connect()) {
      assertThat(connection.sync().dbsize()).as("keys on all masters").isZero();
    }
  }
}
