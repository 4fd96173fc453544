package dev.cacheaside.redis;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * Allows the one lock in Netty 4.2's default allocator that Netty's own BlockHound integration
 * does not: {@code AdaptivePoolingAllocator} takes a {@code StampedLock} write lock to free a
 * magazine while it grows its magazine group. That lock only guards a few field updates; it is
 * synchronization, not I/O. Without this, BlockHound throws inside Lettuce's channel registration
 * on an event loop, Lettuce swallows the error, and the connection hangs until its one-minute
 * initialization timeout (seen on the first cluster connection of a JVM).
 *
 * <p>Registered through {@code META-INF/services}, which {@code blockhound-junit-platform} reads
 * when it installs BlockHound.
 */
public final class NettyBlockHoundIntegration implements BlockHoundIntegration {
  @Override
  public void applyTo(BlockHound.Builder builder) {
    builder.allowBlockingCallsInside(
        "io.netty.buffer.AdaptivePoolingAllocator$MagazineGroup", "tryExpandMagazines");
  }
}
