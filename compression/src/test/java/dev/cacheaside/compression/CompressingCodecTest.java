package dev.cacheaside.compression;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cacheaside.core.Codec;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The codec alone: what it writes, what it reads back, and the bytes it refuses. */
class CompressingCodecTest {
  enum Algorithm {
    LZ4(CompressingCodec::lz4, Lz4.MARKER),
    ZSTD(CompressingCodec::zstd, Zstd.MARKER);

    final Function<Codec<String>, CompressingCodec<String>> make;
    final byte marker;

    Algorithm(Function<Codec<String>, CompressingCodec<String>> make, byte marker) {
      this.make = make;
      this.marker = marker;
    }

    CompressingCodec<String> codec() {
      return make.apply(Codec.utf8());
    }
  }

  /** Realistic text: repetitive, as product descriptions and JSON are. */
  static String text(int bytes) {
    StringBuilder text = new StringBuilder(bytes + 100);
    for (int i = 0; text.length() < bytes; i++) {
      text.append("{\"sku\":\"KT-").append(i).append("\",\"name\":\"Sturdy kettle\",\"description\":")
          .append("\"A steel kettle with a whistle, for gas and induction hobs.\"},");
    }
    return text.substring(0, bytes);
  }

  @ParameterizedTest
  @EnumSource(Algorithm.class)
  void encode_aboveThreshold_compressesAndMarks(Algorithm algorithm) {
    CompressingCodec<String> codec = algorithm.codec();
    String value = text(16 * 1024);

    byte[] bytes = codec.encode(value);

    assertThat(bytes[0]).isEqualTo(algorithm.marker);
    assertThat(bytes.length).isLessThan(value.length() / 4);
    assertThat(codec.decode(bytes)).isEqualTo(value);
  }

  @ParameterizedTest
  @EnumSource(Algorithm.class)
  void encode_belowThreshold_storesPlain(Algorithm algorithm) {
    CompressingCodec<String> codec = algorithm.codec();
    String value = text(CompressingCodec.DEFAULT_THRESHOLD - 1);

    byte[] bytes = codec.encode(value);

    assertThat(bytes[0]).isEqualTo(CompressingCodec.PLAIN);
    assertThat(bytes).hasSize(value.length() + 1);
    assertThat(codec.decode(bytes)).isEqualTo(value);
  }

  @ParameterizedTest
  @EnumSource(Algorithm.class)
  void encode_incompressible_storesPlain(Algorithm algorithm) {
    byte[] random = new byte[4096];
    new SplittableRandom(1).nextBytes(random);
    String value = new String(random, java.nio.charset.StandardCharsets.ISO_8859_1);
    Codec<String> latin1 = new Codec<>() {
      @Override
      public byte[] encode(String v) {
        return v.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
      }

      @Override
      public String decode(byte[] bytes) {
        return new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1);
      }
    };
    CompressingCodec<String> codec = algorithm == Algorithm.LZ4 ? CompressingCodec.lz4(latin1)
        : CompressingCodec.zstd(latin1);

    byte[] bytes = codec.encode(value);

    assertThat(bytes[0]).isEqualTo(CompressingCodec.PLAIN);
    assertThat(codec.decode(bytes)).isEqualTo(value);
  }

  @Test
  void entriesOfAnyThresholdAndEitherAlgorithm_readSideBySide() {
    String small = text(300);
    String large = text(20_000);
    CompressingCodec<String> lz4All = CompressingCodec.lz4(Codec.utf8()).withThreshold(0);
    CompressingCodec<String> zstdNone = CompressingCodec.zstd(Codec.utf8())
        .withThreshold(Integer.MAX_VALUE);
    CompressingCodec<String> zstd = CompressingCodec.zstd(Codec.utf8(), 9);

    for (CompressingCodec<String> writer : Arrays.asList(lz4All, zstdNone, zstd)) {
      for (CompressingCodec<String> reader : Arrays.asList(lz4All, zstdNone, zstd)) {
        assertThat(reader.decode(writer.encode(small))).as("%s read by %s", writer, reader)
            .isEqualTo(small);
        assertThat(reader.decode(writer.encode(large))).as("%s read by %s", writer, reader)
            .isEqualTo(large);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Algorithm.class)
  void decode_readsInPlace_fromAnOffset(Algorithm algorithm) {
    CompressingCodec<String> codec = algorithm.codec();
    for (String value : new String[] {text(100), text(5000)}) {
      byte[] bytes = codec.encode(value);
      byte[] entry = new byte[bytes.length + 40];
      Arrays.fill(entry, (byte) 0x7F);
      System.arraycopy(bytes, 0, entry, 27, bytes.length);

      assertThat(codec.decode(entry, 27, bytes.length)).isEqualTo(value);
    }
  }

  @ParameterizedTest
  @EnumSource(Algorithm.class)
  void decode_truncated_throwsIllegalArgument(Algorithm algorithm) {
    CompressingCodec<String> codec = algorithm.codec();
    byte[] bytes = codec.encode(text(8000));

    assertThatThrownBy(() -> codec.decode(new byte[0])).isInstanceOf(IllegalArgumentException.class);
    for (int length : new int[] {1, 3, 5, 6, bytes.length / 2, bytes.length - 1}) {
      assertThatThrownBy(() -> codec.decode(Arrays.copyOf(bytes, length)))
          .as("cut to %d of %d bytes", length, bytes.length)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @ParameterizedTest
  @EnumSource(Algorithm.class)
  void decode_headerThatLies_eitherWay_throwsIllegalArgument(Algorithm algorithm) {
    CompressingCodec<String> codec = algorithm.codec();
    int size = 8000;
    byte[] bytes = codec.encode(text(size));

    assertThatThrownBy(() -> codec.decode(withDeclared(bytes, size + 1)))
        .as("declares more than it makes").isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> codec.decode(withDeclared(bytes, size - 1)))
        .as("declares less than it makes").isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> codec.decode(withDeclared(bytes, -1)))
        .as("declares 4 GiB - 1").isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("4294967295");
  }

  @ParameterizedTest
  @EnumSource(Algorithm.class)
  void decode_declaresMoreThanMaxValueBytes_refusedBeforeAllocating(Algorithm algorithm) {
    CompressingCodec<String> codec = algorithm.codec().withMaxValueBytes(64 * 1024);
    byte[] entry = withDeclared(codec.encode(text(8000)), Integer.MAX_VALUE);

    // 2 GiB would not fit this test JVM's heap: an OutOfMemoryError here would fail the test.
    assertThatThrownBy(() -> codec.decode(entry)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("over maxValueBytes 65536");
  }

  @ParameterizedTest
  @EnumSource(Algorithm.class)
  void decode_bomb_expandsNoFurtherThanItsDeclaredSize(Algorithm algorithm) {
    // 64 MiB of one letter compresses to a few KiB (LZ4) or a few bytes (Zstandard); it declares
    // 1 MiB, within the bound, and expands past it.
    CompressingCodec<String> writer = algorithm.codec().withMaxValueBytes(Integer.MAX_VALUE);
    byte[] bomb = writer.encode("a".repeat(64 * 1024 * 1024));
    assertThat(bomb.length).isLessThan(512 * 1024);
    CompressingCodec<String> reader = algorithm.codec().withMaxValueBytes(1024 * 1024);

    assertThatThrownBy(() -> reader.decode(withDeclared(bomb, 1024 * 1024)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> reader.decode(bomb)).as("its true size, over the bound")
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("over maxValueBytes");
  }

  @ParameterizedTest
  @EnumSource(Algorithm.class)
  void decode_mutatedEntries_throwOnlyIllegalArgument(Algorithm algorithm) {
    CompressingCodec<String> codec = algorithm.codec().withMaxValueBytes(1024 * 1024);
    byte[] good = codec.encode(text(12_000));
    SplittableRandom random = new SplittableRandom(19);

    for (int i = 0; i < 3000; i++) {
      byte[] bad = good.clone();
      for (int flips = 1 + random.nextInt(4); flips > 0; flips--) {
        bad[random.nextInt(bad.length)] = (byte) random.nextInt(256);
      }
      try {
        codec.decode(bad);
      } catch (IllegalArgumentException expected) {
        // refused: the cache's corrupt entry
      }
    }
  }

  @Test
  void decode_unknownMarker_throwsIllegalArgument() {
    assertThatThrownBy(() -> Algorithm.LZ4.codec().decode(new byte[] {9, 0, 0, 0, 1, 0}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0x9");
    // An entry written before the wrapper was added (JSON starts with '{').
    assertThatThrownBy(() -> Algorithm.ZSTD.codec().decode("{\"a\":1}".getBytes()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void encode_overMaxValueBytes_writesPlain_soTheCacheDoesNotStoreIt() {
    CompressingCodec<String> codec = Algorithm.ZSTD.codec().withMaxValueBytes(10_000);
    String value = text(10_001);

    byte[] bytes = codec.encode(value);

    assertThat(bytes).hasSize(10_002);
    assertThat(bytes[0]).isEqualTo(CompressingCodec.PLAIN);
  }

  @Test
  void options_checkedAtOnce() {
    assertThatThrownBy(() -> Algorithm.LZ4.codec().withThreshold(-1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-1");
    assertThatThrownBy(() -> Algorithm.LZ4.codec().withMaxValueBytes(0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> CompressingCodec.zstd(Codec.utf8(), 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("level");
    assertThatThrownBy(() -> CompressingCodec.lz4(null)).isInstanceOf(NullPointerException.class);
    CompressingCodec<String> codec = Algorithm.LZ4.codec().withThreshold(2048);
    assertThat(codec.threshold()).isEqualTo(2048);
    assertThat(codec.toString()).contains("lz4", "2048");
  }

  static byte[] withDeclared(byte[] entry, int declared) {
    byte[] copy = entry.clone();
    copy[1] = (byte) (declared >>> 24);
    copy[2] = (byte) (declared >>> 16);
    copy[3] = (byte) (declared >>> 8);
    copy[4] = (byte) declared;
    return copy;
  }
}
