package dev.cacheaside.compression;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.publisher.Mono;

/**
 * Compressed entries in a real Redis: written and read side by side with plain ones by caches
 * of other thresholds and algorithms, and adversarial entries (put into Redis by hand behind a
 * valid envelope) read as corrupt misses, deleted and loaded again, never an
 * {@link OutOfMemoryError}. Decoding runs on Lettuce's event loop, under BlockHound.
 */
@ExtendWith(RedisExtension.class)
class CompressionOnRedisIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final int MAX_VALUE_BYTES = 64 * 1024;

  private final RedisClient client;
  private RedisCacheStore store;
  private StatefulRedisConnection<byte[], byte[]> raw;
  private final AtomicInteger loads = new AtomicInteger();

  CompressionOnRedisIT(RedisClient client) {
    this.client = client;
  }

  @BeforeEach
  void open() {
    store = RedisCacheStore.builder().client(client).build();
    raw = client.connect(ByteArrayCodec.INSTANCE);
  }

  @AfterEach
  void close() {
    raw.close();
    store.close();
  }

  private CacheAside<Integer, String> cache(Codec<String> codec) {
    return CacheAside.<Integer, String>builder("docs").store(store).codec(codec)
        .maxValueBytes(MAX_VALUE_BYTES).ttl(Duration.ofMinutes(5)).build();
  }

  private static String value(int key) {
    return CompressingCodecTest.text(key < 100 ? 300 : 20_000);
  }

  private String read(CacheAside<Integer, String> cache, int key) {
    return cache.cacheAside(key, k -> Mono.fromSupplier(() -> {
      loads.incrementAndGet();
      return value(k);
    })).block(WAIT);
  }

  private byte[] redisKey(CacheAside<Integer, String> cache, int key) {
    return RedisCacheStore.valueKey(cache.storeKey(key).block(WAIT))
        .getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void compressedAndPlainEntries_readSideBySide_byCachesOfOtherThresholdsAndAlgorithms() {
    CacheAside<Integer, String> lz4All =
        cache(CompressingCodec.lz4(Codec.utf8()).withThreshold(0));
    CacheAside<Integer, String> zstdLarge = cache(CompressingCodec.zstd(Codec.utf8()));
    CacheAside<Integer, String> neverCompresses =
        cache(CompressingCodec.zstd(Codec.utf8()).withThreshold(Integer.MAX_VALUE));

    read(lz4All, 1);        // small, compressed (threshold 0)
    read(zstdLarge, 1000);  // large, compressed with Zstandard
    read(neverCompresses, 1001); // large, plain
    assertThat(loads).hasValue(3);
    assertThat(raw.sync().strlen(redisKey(lz4All, 1000))).as("20,000 bytes compressed")
        .isLessThan(20_000 / 4);
    assertThat(raw.sync().strlen(redisKey(lz4All, 1001))).as("20,000 bytes plain")
        .isGreaterThan(20_000);

    for (CacheAside<Integer, String> reader : Arrays.asList(lz4All, zstdLarge, neverCompresses)) {
      for (int key : new int[] {1, 1000, 1001}) {
        assertThat(read(reader, key)).isEqualTo(value(key));
      }
      assertThat(reader.stats().corruptEntries()).isZero();
      assertThat(reader.stats().storeErrors()).isZero();
    }
    assertThat(loads).as("every later read a hit").hasValue(3);
  }

  /** What is put behind the envelope's header in place of the codec's bytes. */
  enum Adversary {
    TRUNCATED {
      @Override
      byte[] payload(CompressingCodec<String> codec, byte[] good) {
        return Arrays.copyOf(good, good.length / 2);
      }
    },
    DECLARES_MORE_THAN_IT_MAKES {
      @Override
      byte[] payload(CompressingCodec<String> codec, byte[] good) {
        return CompressingCodecTest.withDeclared(good, 30_000);
      }
    },
    DECLARES_OVER_MAX_VALUE_BYTES {
      @Override
      byte[] payload(CompressingCodec<String> codec, byte[] good) {
        return CompressingCodecTest.withDeclared(good, Integer.MAX_VALUE);
      }
    },
    BOMB {
      @Override
      byte[] payload(CompressingCodec<String> codec, byte[] good) {
        // 64 MiB of one letter in a few KiB, declaring 60 KiB: within the bound, expands past it.
        byte[] bomb = codec.withMaxValueBytes(Integer.MAX_VALUE).encode("a".repeat(64 << 20));
        return CompressingCodecTest.withDeclared(bomb, 60 * 1024);
      }
    },
    UNKNOWN_MARKER {
      @Override
      byte[] payload(CompressingCodec<String> codec, byte[] good) {
        byte[] bad = good.clone();
        bad[0] = 0x7F;
        return bad;
      }
    };

    abstract byte[] payload(CompressingCodec<String> codec, byte[] good);
  }

  @ParameterizedTest
  @EnumSource(Adversary.class)
  void adversarialEntry_lz4_isACorruptMiss_deletedAndLoadedAgain(Adversary adversary) {
    adversarialEntry_isACorruptMiss(CompressingCodec.lz4(Codec.utf8()), adversary);
  }

  @ParameterizedTest
  @EnumSource(Adversary.class)
  void adversarialEntry_zstd_isACorruptMiss_deletedAndLoadedAgain(Adversary adversary) {
    adversarialEntry_isACorruptMiss(CompressingCodec.zstd(Codec.utf8()), adversary);
  }

  private void adversarialEntry_isACorruptMiss(CompressingCodec<String> codec,
      Adversary adversary) {
    CacheAside<Integer, String> cache = cache(codec);
    int key = 1000;
    read(cache, key);
    byte[] redisKey = redisKey(cache, key);
    byte[] entry = raw.sync().get(redisKey);
    byte[] good = codec.withMaxValueBytes(MAX_VALUE_BYTES).encode(value(key));
    int header = entry.length - good.length;
    assertThat(Arrays.copyOfRange(entry, header, entry.length)).as("the codec's bytes")
        .isEqualTo(good);
    byte[] payload = adversary.payload(codec, good);
    byte[] bad = Arrays.copyOf(entry, header + payload.length);
    System.arraycopy(payload, 0, bad, header, payload.length);
    raw.sync().set(redisKey, bad, SetArgs.Builder.keepttl());

    assertThat(read(cache, key)).as("loaded again").isEqualTo(value(key));

    assertThat(loads).hasValue(2);
    assertThat(cache.stats().corruptEntries()).isEqualTo(1);
    assertThat(cache.stats().storeErrors()).isZero();
    assertThat(raw.sync().get(redisKey)).as("the corrupt entry replaced by a good one")
        .isNotEqualTo(bad);
    assertThat(read(cache, key)).as("then a hit").isEqualTo(value(key));
    assertThat(loads).hasValue(2);
  }
}
