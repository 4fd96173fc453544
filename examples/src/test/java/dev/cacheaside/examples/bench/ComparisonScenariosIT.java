package dev.cacheaside.examples.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.testing.PostgresExtension;
import dev.cacheaside.testing.RedisExtension;
import dev.cacheaside.testing.TestRedis;
import dev.cacheaside.testing.TestSchema;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The comparison's correctness scenarios at small sizes, with what is deterministic about them
 * asserted: so the figures {@link ComparisonBenchmark} prints come from scenarios that can fail.
 * Runs every {@link Approach}, Spring's {@code RedisCache} included, on real Redis and PostgreSQL.
 */
@ExtendWith({RedisExtension.class, PostgresExtension.class})
class ComparisonScenariosIT {
  private static final int INSTANCES = 3;
  private static final int CALLERS = 4;
  private static final Duration QUERY_TIME = Duration.ofMillis(50);

  private final TestRedis redis;
  private final CountedProducts table;

  ComparisonScenariosIT(TestRedis redis, TestSchema schema) {
    this.redis = redis;
    this.table = CountedProducts.create(schema, 10, 4);
  }

  @AfterEach
  void closeTable() {
    table.close();
  }

  @ParameterizedTest
  @EnumSource(Approach.class)
  void stampede_acrossInstances_loadsOnceOnlyWithLeases(Approach approach) {
    Stampede.Outcome outcome = ComparisonScenarios.stampede(approach, redis, table, "stampede",
        INSTANCES, CALLERS, 1, QUERY_TIME);

    assertThat(outcome.latencyNanos()).as("every caller got the product")
        .hasSize(INSTANCES * CALLERS).doesNotContain(0L);
    if (approach == Approach.LIBRARY) {
      assertThat(outcome.loads()).as("one query across %d instances x %d callers", INSTANCES, CALLERS)
          .isEqualTo(1);
    } else {
      // Without leases nothing stops a second instance's miss from querying too (the tutorial and
      // Spring do not even share a load inside one instance).
      assertThat(outcome.loads()).as("queries of %s", approach).isGreaterThan(1);
    }
  }

  @ParameterizedTest
  @EnumSource(Approach.class)
  void staleSetRace_forced_leavesAStaleEntryUnlessLeased(Approach approach) {
    for (long id = 1; id <= 3; id++) {
      boolean stale = ComparisonScenarios.staleSetRace(approach, redis, table, "race", id);

      assertThat(stale).as("%s, race %d: a later read serves the old row", approach, id)
          .isEqualTo(approach != Approach.LIBRARY);
    }
  }
}
