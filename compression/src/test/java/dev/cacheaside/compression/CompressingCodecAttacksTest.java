package dev.cacheaside.compression;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.ZstdCompressCtx;
import dev.cacheaside.core.CacheAsideDefaults;
import dev.cacheaside.core.Codec;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Hostile entries and hostile uses of {@link CompressingCodec}: plain values that look like
 * headers, values at the edges of the threshold and the bound, frames without a content size or
 * with a lying one, garbage after a valid header, a missing library, many threads, first use on a
 * non-blocking thread.
 */
class CompressingCodecAttacksTest {
  private static final CompressingCodecTest.Algorithm[] BOTH = CompressingCodecTest.Algorithm
      .values();

  private static byte[] header(byte marker, int declared, byte[] data) {
    byte[] entry = new byte[CompressingCodec.HEADER + data.length];
    entry[0] = marker;
    entry[1] = (byte) (declared >>> 24);
    entry[2] = (byte) (declared >>> 16);
    entry[3] = (byte) (declared >>> 8);
    entry[4] = (byte) declared;
    System.arraycopy(data, 0, entry, CompressingCodec.HEADER, data.length);
    return entry;
  }

  @ParameterizedTest
  @EnumSource(CompressingCodecTest.Algorithm.class)
  void plainValuesThatLookLikeCompressedEntries_neverMisread_atAnyThreshold(
      CompressingCodecTest.Algorithm algorithm) {
    // Values whose own bytes start with a marker and a plausible header, and the compressed
    // entry of another value itself stored as a plain value.
    List<String> values = new ArrayList<>();
    for (byte marker = 0; marker < 4; marker++) {
      values.add(new String(header(marker, 5, "abcde".getBytes(StandardCharsets.ISO_8859_1)),
          StandardCharsets.ISO_8859_1));
    }
    byte[] compressed = algorithm.codec().withThreshold(0).encode(CompressingCodecTest.text(3000));
    values.add(new String(compressed, StandardCharsets.ISO_8859_1));
    values.add("");
    Codec<String> latin1 = new Codec<>() {
      @Override
      public byte[] encode(String value) {
        return value.getBytes(StandardCharsets.ISO_8859_1);
      }

      @Override
      public String decode(byte[] bytes) {
        return new String(bytes, StandardCharsets.ISO_8859_1);
      }
    };
    for (int writeThreshold : new int[] {0, 1, 5, 6, 1024, Integer.MAX_VALUE}) {
      CompressingCodec<String> writer = algorithm.make.apply(latin1).withThreshold(writeThreshold);
      for (CompressingCodecTest.Algorithm readAs : BOTH) {
        for (int readThreshold : new int[] {0, 7, Integer.MAX_VALUE}) {
          CompressingCodec<String> reader = readAs.make.apply(latin1)
              .withThreshold(readThreshold);
          for (String value : values) {
            assertThat(reader.decode(writer.encode(value)))
                .as("written at threshold %d, read by %s", writeThreshold, reader)
                .isEqualTo(value);
          }
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(CompressingCodecTest.Algorithm.class)
  void emptyValue_andValuesAtTheThreshold_roundTrip(CompressingCodecTest.Algorithm algorithm) {
    CompressingCodec<String> every = algorithm.codec().withThreshold(0);
    assertThat(every.encode("")).containsExactly(CompressingCodec.PLAIN);
    assertThat(every.decode(every.encode(""))).isEmpty();

    String text = CompressingCodecTest.text(2000);
    CompressingCodec<String> codec = algorithm.codec().withThreshold(2000);
    assertThat(codec.encode(text)[0]).as("exactly at the threshold").isEqualTo(algorithm.marker);
    assertThat(codec.encode(text.substring(1))[0]).as("one below").isEqualTo(CompressingCodec.PLAIN);
    assertThat(codec.decode(codec.encode(text))).isEqualTo(text);
    assertThat(codec.decode(codec.encode(text.substring(1)))).isEqualTo(text.substring(1));
  }

  /**
   * The most compressible value there is, as large as the bound allows: an honest entry must not
   * be refused as a bomb (LZ4's ratio check) nor fail to expand to exactly the bound.
   */
  @ParameterizedTest
  @EnumSource(CompressingCodecTest.Algorithm.class)
  void mostCompressibleValue_atExactlyTheBound_roundTrips(CompressingCodecTest.Algorithm algorithm) {
    for (int bound : new int[] {1024, 64 * 1024, CacheAsideDefaults.MAX_VALUE_BYTES}) {
      CompressingCodec<String> codec = algorithm.codec().withMaxValueBytes(bound);
      for (char c : new char[] {'\0', 'a'}) {
        String value = String.valueOf(c).repeat(bound);
        byte[] entry = codec.encode(value);
        assertThat(entry[0]).as("compressed at %d", bound).isEqualTo(algorithm.marker);
        assertThat(codec.decode(entry)).as("%d bytes of %d", bound, (int) c).isEqualTo(value);
        byte[] over = CompressingCodecTest.withDeclared(entry, bound + 1);
        assertThatThrownBy(() -> codec.decode(over)).isInstanceOf(IllegalArgumentException.class);
      }
    }
  }

  @Test
  void zstdFrameWithoutAContentSize_readWhenTheHeaderIsRight_refusedWhenItLies() {
    CompressingCodec<String> codec = CompressingCodec.zstd(Codec.utf8());
    byte[] raw = CompressingCodecTest.text(10_000).getBytes(StandardCharsets.UTF_8);
    byte[] frame;
    try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
      ctx.setContentSize(false);
      frame = ctx.compress(raw);
    }
    assertThat(com.github.luben.zstd.Zstd.getFrameContentSize(frame)).as("unknown size")
        .isEqualTo(-1L);

    assertThat(codec.decode(header(Zstd.MARKER, raw.length, frame)))
        .isEqualTo(new String(raw, StandardCharsets.UTF_8));
    for (int declared : new int[] {0, 1, raw.length - 1, raw.length + 1, 1 << 20}) {
      assertThatThrownBy(() -> codec.decode(header(Zstd.MARKER, declared, frame)))
          .as("declares %d", declared).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void zstdFrameThatDeclaresAHugeContentSize_refusedWithoutAllocatingIt() {
    CompressingCodec<String> codec = CompressingCodec.zstd(Codec.utf8());
    byte[] raw = CompressingCodecTest.text(10_000).getBytes(StandardCharsets.UTF_8);
    byte[] frame;
    try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
      ctx.setContentSize(true);
      frame = ctx.compress(raw);
    }
    // Frame header: magic (4), descriptor, [window], [dictionary id], content size.
    int descriptor = frame[4] & 0xFF;
    int sizeFlag = descriptor >>> 6;
    boolean singleSegment = (descriptor & 0x20) != 0;
    int dictionaryBytes = new int[] {0, 1, 2, 4}[descriptor & 3];
    int at = 5 + (singleSegment ? 0 : 1) + dictionaryBytes;
    int sizeBytes = new int[] {singleSegment ? 1 : 0, 2, 4, 8}[sizeFlag];
    for (int i = 0; i < sizeBytes; i++) {
      frame[at + i] = (byte) 0xFF;
    }
    assertThat(com.github.luben.zstd.Zstd.getFrameContentSize(frame)).isGreaterThan(raw.length);

    assertThatThrownBy(() -> codec.decode(header(Zstd.MARKER, raw.length, frame)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /** Garbage after a valid header, at every length up to a few hundred bytes. */
  @ParameterizedTest
  @EnumSource(CompressingCodecTest.Algorithm.class)
  void garbageAfterAValidHeader_throwsOnlyIllegalArgument(CompressingCodecTest.Algorithm algorithm) {
    CompressingCodec<String> codec = algorithm.codec().withMaxValueBytes(64 * 1024);
    SplittableRandom random = new SplittableRandom(1919);
    for (int i = 0; i < 5000; i++) {
      byte[] data = new byte[random.nextInt(300)];
      random.nextBytes(data);
      if (random.nextBoolean() && data.length > 4) {
        // a zstd magic number, so the frame parser is reached
        data[0] = 0x28;
        data[1] = (byte) 0xB5;
        data[2] = 0x2F;
        data[3] = (byte) 0xFD;
      }
      int declared = random.nextInt(64 * 1024 + 1);
      byte[] entry = header(algorithm.marker, declared, data);
      try {
        String value = codec.decode(entry);
        assertThat(value.getBytes(StandardCharsets.UTF_8).length)
            .as("a value made of garbage is at most what it declared").isLessThanOrEqualTo(
                declared * 3);
      } catch (IllegalArgumentException expected) {
        // a corrupt entry
      }
    }
    for (int length = 1; length < CompressingCodec.HEADER; length++) {
      byte[] truncated = Arrays.copyOf(header(algorithm.marker, 0, new byte[0]), length);
      assertThatThrownBy(() -> codec.decode(truncated)).isInstanceOf(
          IllegalArgumentException.class);
    }
    assertThatThrownBy(() -> codec.decode(new byte[0])).isInstanceOf(
        IllegalArgumentException.class);
  }

  /** Many threads, both algorithms and two Zstandard levels at once; threads come and go. */
  @Test
  void manyThreads_roundTrip_whileThreadsComeAndGo() throws Exception {
    List<CompressingCodec<String>> codecs = List.of(CompressingCodec.lz4(Codec.utf8()),
        CompressingCodec.zstd(Codec.utf8()), CompressingCodec.zstd(Codec.utf8(), 19));
    AtomicReference<Throwable> failure = new AtomicReference<>();
    for (int round = 0; round < 4; round++) {
      CountDownLatch start = new CountDownLatch(1);
      List<Thread> threads = new ArrayList<>();
      for (int t = 0; t < 16; t++) {
        int seed = round * 100 + t;
        Thread thread = new Thread(() -> {
          try {
            start.await();
            SplittableRandom random = new SplittableRandom(seed);
            for (int i = 0; i < 200; i++) {
              String value = CompressingCodecTest.text(1024 + random.nextInt(20_000)) + seed + i;
              CompressingCodec<String> writer = codecs.get(random.nextInt(codecs.size()));
              CompressingCodec<String> reader = codecs.get(random.nextInt(codecs.size()));
              byte[] entry = writer.encode(value);
              if (!reader.decode(entry).equals(value)) {
                throw new AssertionError("thread " + seed + " read another value");
              }
              byte[] bad = entry.clone();
              bad[bad.length - 1] ^= 0x5A;
              try {
                reader.decode(bad);
              } catch (IllegalArgumentException expected) {
                // and the thread's context goes on working
              }
            }
          } catch (Throwable e) {
            failure.compareAndSet(null, e);
          }
        });
        threads.add(thread);
        thread.start();
      }
      start.countDown();
      for (Thread thread : threads) {
        thread.join();
      }
      System.gc(); // the dead threads' contexts become the Cleaner's
    }
    assertThat(failure.get()).isNull();
  }

  /**
   * The first read and write on a thread that must not block (BlockHound is installed for these
   * tests): the per-thread context, a malformed entry's exception, both algorithms.
   */
  @ParameterizedTest
  @EnumSource(CompressingCodecTest.Algorithm.class)
  void firstUseOnANonBlockingThread_doesNotBlock(CompressingCodecTest.Algorithm algorithm) {
    CompressingCodec<String> codec = algorithm.codec();
    String text = CompressingCodecTest.text(5000);
    Scheduler fresh = Schedulers.newParallel("adv-nonblocking", 1);
    try {
      String read = Mono.fromCallable(() -> {
        byte[] entry = codec.encode(text);
        byte[] bad = entry.clone();
        bad[bad.length - 3] ^= 0x7F;
        bad[bad.length - 9] ^= 0x7F;
        try {
          codec.decode(bad);
        } catch (IllegalArgumentException expected) {
          // refused
        }
        return codec.decode(entry);
      }).subscribeOn(fresh).block(java.time.Duration.ofSeconds(30));
      assertThat(read).isEqualTo(text);
      // The canary: BlockHound is watching this thread.
      assertThatThrownBy(() -> Mono.fromCallable(() -> {
        Thread.sleep(1);
        return 1;
      }).subscribeOn(fresh).block(java.time.Duration.ofSeconds(30)))
          .hasMessageContaining("Blocking call");
    } finally {
      fresh.dispose();
    }
  }

  /**
   * lz4-java missing from the class path (hidden by a class loader): a Zstandard codec is made
   * and works, an LZ4 entry is a corrupt entry that names the library, and asking for LZ4 fails
   * at once, naming it.
   */
  @Test
  void lz4Missing_zstdCodecWorks_lz4EntryIsCorrupt_lz4CodecRefused() throws Exception {
    byte[] lz4Entry = CompressingCodec.lz4(Codec.utf8()).encode(CompressingCodecTest.text(4000));
    try (HidingLoader loader = new HidingLoader("net.jpountz.")) {
      Class<?> type = loader.loadClass(CompressingCodec.class.getName());
      assertThat(type.getClassLoader()).isSameAs(loader);
      Object zstd = type.getMethod("zstd", Codec.class).invoke(null, Codec.utf8());
      Method encode = type.getMethod("encode", Object.class);
      Method decode = type.getMethod("decode", byte[].class);
      String text = CompressingCodecTest.text(4000);
      assertThat(decode.invoke(zstd, encode.invoke(zstd, text))).isEqualTo(text);
      assertThatThrownBy(() -> invoke(decode, zstd, lz4Entry))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lz4-java");
      assertThatThrownBy(() -> invoke(type.getMethod("lz4", Codec.class), null, Codec.utf8()))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("lz4-java");
    }
  }

  private static Object invoke(Method method, Object target, Object argument) throws Throwable {
    try {
      return method.invoke(target, argument);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }

  /** Loads this module's classes itself, and refuses the packages it hides. */
  private static final class HidingLoader extends ClassLoader implements AutoCloseable {
    private final String hidden;

    HidingLoader(String hidden) {
      super(CompressingCodecAttacksTest.class.getClassLoader());
      this.hidden = hidden;
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
      synchronized (getClassLoadingLock(name)) {
        if (name.startsWith(hidden)) {
          throw new ClassNotFoundException(name + " (hidden)");
        }
        if (name.startsWith("dev.cacheaside.compression.") && !name.contains("Test")) {
          Class<?> loaded = findLoadedClass(name);
          if (loaded == null) {
            URL resource = getParent().getResource(name.replace('.', '/') + ".class");
            if (resource == null) {
              throw new ClassNotFoundException(name);
            }
            try (InputStream in = resource.openStream()) {
              byte[] bytes = in.readAllBytes();
              loaded = defineClass(name, bytes, 0, bytes.length);
            } catch (IOException e) {
              throw new ClassNotFoundException(name, e);
            }
          }
          if (resolve) {
            resolveClass(loaded);
          }
          return loaded;
        }
        return super.loadClass(name, resolve);
      }
    }

    @Override
    public void close() {}
  }
}
