package dev.cacheaside.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class EnvelopeTest {

  @Test
  void positive_roundTrips() {
    Envelope e = Envelope.positive(7, 1000L, 2000L, 37, new byte[] {1, 2, 3});
    Envelope back = Envelope.decode(e.encode());
    assertThat(back.negative()).isFalse();
    assertThat(back.schemaVersion()).isEqualTo(7);
    assertThat(back.loadedAt()).isEqualTo(1000L);
    assertThat(back.expiresAt()).isEqualTo(2000L);
    assertThat(back.loadMillis()).isEqualTo(37);
    assertThat(back.payload()).containsExactly(1, 2, 3);
    assertThat(e.encode()).hasSize(Envelope.HEADER + 3);
  }

  @Test
  void negative_roundTrips() {
    Envelope back = Envelope.decode(Envelope.negative(0, 5L, 6L, 0).encode());
    assertThat(back.negative()).isTrue();
    assertThat(back.payload()).isEmpty();
  }

  @Test
  void isStale_atAndAfterExpiry() {
    Envelope e = Envelope.positive(0, 0L, 100L, 0, new byte[0]);
    assertThat(e.isStale(99)).isFalse();
    assertThat(e.isStale(100)).isTrue();
  }

  @Test
  void classify_ours_foreign_otherVersion() {
    byte[] ours = Envelope.positive(3, 1L, 2L, 3, new byte[] {9}).encode();
    assertThat(Envelope.classify(ours, 3)).isEqualTo(Envelope.Kind.OURS);
    assertThat(Envelope.classify(ours, 4)).as("another schema version")
        .isEqualTo(Envelope.Kind.OTHER_VERSION);
    byte[] otherFormat = ours.clone();
    otherFormat[1] = 9;
    assertThat(Envelope.classify(otherFormat, 3)).isEqualTo(Envelope.Kind.OTHER_VERSION);
    assertThat(Envelope.classify("{\"id\":42}".getBytes(StandardCharsets.UTF_8), 3))
        .as("another application's JSON").isEqualTo(Envelope.Kind.FOREIGN);
    assertThat(Envelope.classify(new byte[0], 3)).isEqualTo(Envelope.Kind.FOREIGN);
    assertThat(Envelope.classify(new byte[] {(byte) 0xCA}, 3)).isEqualTo(Envelope.Kind.FOREIGN);
  }

  @Test
  void decode_rejectsABrokenEnvelopeOfOurs() {
    byte[] good = Envelope.positive(0, 1L, 2L, 3, new byte[] {9}).encode();
    assertThatThrownBy(() -> Envelope.decode(Arrays.copyOf(good, 5)))
        .isInstanceOf(Envelope.Corrupt.class).hasMessageContaining("shorter than the 27-byte header");
    byte[] flags = good.clone();
    flags[2] = 4;
    assertThatThrownBy(() -> Envelope.decode(flags)).hasMessageContaining("unknown flags 0x04");
    byte[] negativeWithPayload = good.clone();
    negativeWithPayload[2] = 1;
    assertThatThrownBy(() -> Envelope.decode(negativeWithPayload))
        .hasMessageContaining("negative entry carries 1 payload bytes");
    byte[] truncated = Arrays.copyOf(good, Envelope.HEADER - 1);
    assertThatThrownBy(() -> Envelope.decode(truncated)).isInstanceOf(Envelope.Corrupt.class);
  }
}
