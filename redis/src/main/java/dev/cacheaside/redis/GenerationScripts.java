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

  /**
   * The Lua function {@code counter(key)}: the generation {@code key} holds, or nil when it holds
   * none or something that is not a generation. A generation is decimal digits only, below 2^53:
   * Lua's numbers are doubles, and beyond 2^53 "plus one" is no longer exact, so a bump could give
   * the same number again; {@code tonumber} would also take "inf", "nan", "-5", "1e30" or " 7 ",
   * and Redis turns a number out of the integer range into -2^63 on the way out. Such a value
   * (another application's, a hand-made one) is treated like a lost counter: replaced from the
   * clock, which is above every generation given out before. A key of another type (a hash)
   * makes {@code GET} fail, and the script with it: it is not ours to overwrite.
   */
  private static final String COUNTER = """
      local function counter(key)
        local g = redis.call('GET', key)
        if g and #g <= 16 and string.match(g, '^%d+$') then
          local n = tonumber(g)
          if n < 9007199254740992 then
            return n
          end
        end
        return nil
      end
      """;

  /**
   * KEYS: the generation key. Reply: the generation; created from the clock if absent, or if the
   * key holds something that is not a generation.
   */
  static final Script READ = new Script("generation", COUNTER + """
      local g = counter(KEYS[1])
      if g then
        return g
      end
      redis.replicate_commands()
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
      redis.call('SET', KEYS[1], string.format('%.0f', now))
      return now
      """, ScriptOutputType.INTEGER);

  /**
   * KEYS: the generation key. Reply: the new generation: the larger of the current one plus one
   * and the clock (the clock alone when the key holds no generation). The generation key is
   * announced on {@link Invalidations#CHANNEL}: near caches drop every copy of the cache's entries.
   */
  static final Script BUMP = new Script("bumpGeneration", COUNTER + """
      redis.replicate_commands()
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
      local current = counter(KEYS[1]) or 0
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
