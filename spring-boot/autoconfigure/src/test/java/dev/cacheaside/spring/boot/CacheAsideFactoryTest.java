package dev.cacheaside.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cacheaside.core.EarlyRefresh;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.jackson.JacksonCodec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CacheAsideFactoryTest {

  private static CacheAsideProperties.CacheSpec spec() {
    return new CacheAsideProperties.CacheSpec();
  }

  @Test
  void badValue_failsAtConstruction_namingTheProperty() {
    CacheAsideProperties.CacheSpec products = spec();
    products.setTtlJitter(1.5);

    assertThatThrownBy(() -> new CacheAsideFactory(InMemoryCacheStore.create(),
        JacksonCodec.defaultMapper(), spec(), Map.of("products", products), List.of()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("cache-aside.caches.products.ttl-jitter=1.5 is refused");
  }

  @Test
  void badDefault_namesTheDefaultsProperty() {
    CacheAsideProperties.CacheSpec defaults = spec();
    defaults.setLeaseTtl(Duration.ZERO);

    assertThatThrownBy(() -> new CacheAsideFactory(InMemoryCacheStore.create(),
        JacksonCodec.defaultMapper(), defaults, Map.of(), List.of()))
        .hasMessageStartingWith("cache-aside.defaults.lease-ttl=PT0S is refused");
  }

  @Test
  void earlyRefresh_parsesTheThreeForms_andRefusesOthers() {
    assertThat(CacheAsideFactory.earlyRefresh("none")).isEqualTo(EarlyRefresh.none());
    assertThat(CacheAsideFactory.earlyRefresh(" XFetch:1.5 ").toString())
        .isEqualTo(EarlyRefresh.xfetch(1.5).toString());
    assertThat(CacheAsideFactory.earlyRefresh("ahead:0.8").toString())
        .isEqualTo(EarlyRefresh.ahead(0.8).toString());
    CacheAsideProperties.CacheSpec bad = spec();
    bad.setEarlyRefresh("sometimes:2");

    assertThatThrownBy(() -> new CacheAsideFactory(InMemoryCacheStore.create(),
        JacksonCodec.defaultMapper(), spec(), Map.of("p", bad), List.of()))
        .hasMessageContaining("cache-aside.caches.p.early-refresh=sometimes:2")
        .hasMessageContaining("unknown policy 'sometimes'");
  }

  @Test
  void perCacheSettings_overrideDefaults_andCustomizersRunLast() {
    CacheAsideProperties.CacheSpec defaults = spec();
    defaults.setTtl(Duration.ofMinutes(5));
    CacheAsideProperties.CacheSpec products = spec();
    products.setNegativeTtl(Duration.ofSeconds(3));
    List<String> customized = new java.util.ArrayList<>();
    CacheAsideFactory factory = new CacheAsideFactory(InMemoryCacheStore.create(),
        JacksonCodec.defaultMapper(), defaults, Map.of("products", products),
        List.of((name, builder) -> customized.add(name)));

    assertThat(factory.builder("products", String.class).build().name()).isEqualTo("products");
    assertThat(customized).containsExactly("products");
  }

  @Test
  void schemaVersion_fromProperties_keepsTwoDeploysApart_andANegativeOneIsNamed() {
    InMemoryCacheStore store = InMemoryCacheStore.create();
    CacheAsideProperties.CacheSpec v1 = spec();
    v1.setSchemaVersion(1);
    CacheAsideProperties.CacheSpec v2 = spec();
    v2.setSchemaVersion(2);
    v2.setLoadTimeout(Duration.ofSeconds(3));
    v2.setStoreTimeout(Duration.ofMillis(500));
    v2.setAbandonedReads(dev.cacheaside.core.AbandonedReads.FINISH);
    v2.setGenerationRefresh(Duration.ofSeconds(2));
    dev.cacheaside.core.CacheAside<String, String> old = new CacheAsideFactory(store,
        JacksonCodec.defaultMapper(), spec(), Map.of("prices", v1), List.of())
        .<String, String>builder("prices", String.class).build();
    dev.cacheaside.core.CacheAside<String, String> updated = new CacheAsideFactory(store,
        JacksonCodec.defaultMapper(), spec(), Map.of("prices", v2), List.of())
        .<String, String>builder("prices", String.class).build();

    assertThat(old.cacheAside("lamp", k -> reactor.core.publisher.Mono.just("old"))
        .block(Duration.ofSeconds(5))).isEqualTo("old");
    assertThat(updated.cacheAside("lamp", k -> reactor.core.publisher.Mono.just("new"))
        .block(Duration.ofSeconds(5))).as("the other version's entry is not served")
        .isEqualTo("new");
    assertThat(updated.stats().otherVersionEntries()).isEqualTo(1);

    CacheAsideProperties.CacheSpec bad = spec();
    bad.setSchemaVersion(-1);
    assertThatThrownBy(() -> new CacheAsideFactory(store, JacksonCodec.defaultMapper(), bad,
        Map.of(), List.of()))
        .hasMessageStartingWith("cache-aside.defaults.schema-version=-1 is refused");
  }

  @Test
  void nearCache_fromProperties_servesRepeatReadsLocally_andMaxTtlAloneIsNamed() {
    CacheAsideProperties.CacheSpec products = spec();
    products.setNearCacheEntries(100L);
    products.setNearCacheMaxTtl(Duration.ofSeconds(30));
    dev.cacheaside.core.CacheAside<String, String> cache = new CacheAsideFactory(
        InMemoryCacheStore.create(), JacksonCodec.defaultMapper(), spec(),
        Map.of("products", products), List.of())
        .<String, String>builder("products", String.class).build();

    // The first read loads under a lease (which fills nothing), the second reads the store and
    // fills the tier, the next two are answered locally.
    for (int i = 0; i < 4; i++) {
      assertThat(cache.cacheAside("lamp", k -> reactor.core.publisher.Mono.just("lamp"))
          .block(Duration.ofSeconds(5))).isEqualTo("lamp");
    }
    assertThat(cache.stats().nearCache().hits()).as("the repeat reads answered locally")
        .isEqualTo(2);

    CacheAsideProperties.CacheSpec everywhere = spec();
    everywhere.setNearCacheEntries(1_000L);
    assertThat(new CacheAsideFactory(InMemoryCacheStore.create(), JacksonCodec.defaultMapper(),
        everywhere, Map.of("products", products), List.of())
        .<String, String>builder("products", String.class).build().name())
        .as("a cache's own near cache over the defaults' one").isEqualTo("products");

    CacheAsideProperties.CacheSpec ttlOnly = spec();
    ttlOnly.setNearCacheMaxTtl(Duration.ofSeconds(30));
    assertThatThrownBy(() -> new CacheAsideFactory(InMemoryCacheStore.create(),
        JacksonCodec.defaultMapper(), spec(), Map.of("p", ttlOnly), List.of()))
        .hasMessageStartingWith("cache-aside.caches.p.near-cache-max-ttl=PT30S is refused")
        .hasMessageContaining("near-cache-entries");
    CacheAsideProperties.CacheSpec zero = spec();
    zero.setNearCacheEntries(0L);
    assertThatThrownBy(() -> new CacheAsideFactory(InMemoryCacheStore.create(),
        JacksonCodec.defaultMapper(), spec(), Map.of("p", zero), List.of()))
        .hasMessageStartingWith("cache-aside.caches.p.near-cache-entries=0 is refused");
  }
}
