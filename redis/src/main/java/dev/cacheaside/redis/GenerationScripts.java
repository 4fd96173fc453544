package dev.cacheaside.redis;

import io.lettuce.core.ScriptOutputType;

/**
 * The Lua scripts behind generations and the store's clock. A generation is never given out twice
 * for a cache, even after Redis lost it (a {@code FLUSHALL}, a restart without persistence): it is
 * created from the server's clock, in microseconds, and a bump moves it to the larger of its value
 * plus one and that clock, so it only ever grows with time. {@code TIME} is a non-deterministic
 * command: the scripts that write after it replicate their effects
 * ({@code redis.replicate_commands()}, the default from Redis 7).
 */
final class GenerationScripts {
  private GenerationScripts() {}

  /** KEYS: the generation key. Reply: the generation, created from the clock if absent. */
  static final Script READ = new Script("generation", """
      local g = redis.call('GET', KEYS[1])
      if g then
        return tonumber(g)
      end
      redis.replicate_commands()
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
      redis.call('SET', KEYS[1], string.format('%.0f', now))
      return now
      """, ScriptOutputType.INTEGER);

  /**
   * KEYS: the generation key. Reply: the new generation. The generation key is announced on
   * {@link Invalidations#CHANNEL}: near caches drop every copy of the cache's entries.
   */
  static final Script BUMP = new Script("bumpGeneration", """
      redis.replicate_commands()
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
      local current = tonumber(redis.call('GET', KEYS[1]) or '0')
      local next = math.max(current + 1, now)
      redis.call('SET', KEYS[1], string.format('%%.0f', next))
      redis.pcall('PUBLISH', '%s', KEYS[1])
      return next
      """.formatted(Invalidations.CHANNEL), ScriptOutputType.INTEGER);

  /**
   * KEYS: the generation key, which places the call on the node that keeps the generation, so
   * every instance reads one clock. Reply: the server's time in milliseconds.
   */
  static final Script TIME = new Script("time", """
      local t = redis.call('TIME')
      return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      """, ScriptOutputType.INTEGER);
}
