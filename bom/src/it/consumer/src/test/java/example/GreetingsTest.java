package example;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.cacheaside.testing.TestRedis;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class GreetingsTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  @Test
  void aRead_loadsOnce_andASecondInstanceReadsItFromRedis() {
    String uri = TestRedis.get().uri().toURI().toString();
    TestRedis.get().flushAll();

    try (Greetings first = new Greetings(uri); Greetings second = new Greetings(uri)) {
      assertEquals("hello, ada", first.greeting("ada").block(TIMEOUT));
      // another client, connection and in-flight map: only Redis is shared
      assertEquals("hello, ada", second.greeting("ada").block(TIMEOUT));

      assertEquals(1, first.loads(), "loads by the first instance");
      assertEquals(0, second.loads(), "loads by the second instance: its read was a hit in Redis");
    }
  }
}
