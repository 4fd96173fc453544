package dev.cacheaside.resilience;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * Lets BlockHound pass two short locks in Lettuce and Netty that guard a few field updates, no
 * I/O, and that Reactor threads take under contention during an outage.
 *
 * <ul>
 *   <li>Lettuce's {@code SharedLock} (every command write takes it shared, a disconnect takes it
 *       exclusive). Worse than a false alarm: {@code DefaultEndpoint.write} decrements the writer
 *       count in a {@code finally} even when {@code incrementWriters} threw, so a
 *       {@code BlockingOperationError} thrown from its {@code lock()} leaves the count at -1 and
 *       every later write on the connection spins forever (seen in {@code RedisOutageIT} when
 *       Redis was killed under load).</li>
 *   <li>Netty 4.2's {@code AdaptivePoolingAllocator} growing its magazines.</li>
 * </ul>
 *
 * <p>Registered through {@code META-INF/services}, read by {@code blockhound-junit-platform}.
 */
public final class LettuceBlockHoundIntegration implements BlockHoundIntegration {
  @Override
  public void applyTo(BlockHound.Builder builder) {
    builder.allowBlockingCallsInside("io.lettuce.core.protocol.SharedLock", "incrementWriters");
    builder.allowBlockingCallsInside("io.lettuce.core.protocol.SharedLock", "doExclusive");
    builder.allowBlockingCallsInside(
        "io.netty.buffer.AdaptivePoolingAllocator$MagazineGroup", "tryExpandMagazines");
  }
}
