package dev.cacheaside.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.r2dbc.spi.ConnectionFactory;
import org.junit.jupiter.api.Test;

@RealServers
class RealServersIT {

  @Test
  void givesATestBothServers(RedisClient redis, ConnectionFactory db, TestSchema schema) {
    Sql.execute(db, "CREATE TABLE greeting (text text)", "INSERT INTO greeting VALUES ('hello')");
    String fromDb = Sql.single(db, "SELECT text FROM greeting");
    try (StatefulRedisConnection<String, String> connection = redis.connect()) {
      connection.sync().set(schema.name() + ":greeting", fromDb);
      assertThat(connection.sync().get(schema.name() + ":greeting")).isEqualTo("hello");
    }
  }
}
