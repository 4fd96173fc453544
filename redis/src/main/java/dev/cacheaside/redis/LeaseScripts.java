package dev.cacheaside.redis;

import dev.cacheaside.core.spi.CacheStore;
import io.lettuce.core.ScriptOutputType;

/**
 * The Lua scripts behind the lease operations. Each multi-key script takes its keys in pairs
 * (value key, lease key) so one script call serves any number of entries of one hash slot: the
 * single-key operations are the same script with one pair. A multi-key reply is one array (Lettuce
 * emits it as one {@code List}) with an element per entry, in the order of the keys. It never
 * contains nil (Lettuce would turn it into a null element), so each entry's outcome is a value or
 * an integer code.
 */
final class LeaseScripts {
  private LeaseScripts() {}

  /** What {@link #GET_OR_LEASE} answers for an entry that has no value and was leased to us. */
  static final long GRANTED = 1;
  /** What {@link #GET_OR_LEASE} answers for an entry that has no value and a lease not ours. */
  static final long CONTENDED = 0;

  /**
   * The pub/sub channel on which {@link #SET_IF_LEASED} and {@link #RELEASE_LEASE} announce that
   * a lease somebody waits for has ended. The message is the entry's value key. The scripts
   * publish with {@code redis.pcall} after their writes, so a publish that Redis refuses (an ACL
   * user without {@code &cache-aside:lease-ended}, the default for new users since Redis 7)
   * changes nothing else: the value is stored, the lease released, and waiters poll.
   */
  static final String LEASE_ENDED_CHANNEL = "cache-aside:lease-ended";

  /**
   * What {@link #GET_OR_LEASE} appends to a lease that a listening caller waits for, so that its
   * holder's store or release announces the end on {@link #LEASE_ENDED_CHANNEL}. Marking only
   * contended leases keeps the uncontended miss path free of any publish. {@code APPEND} keeps
   * the lease's TTL. Tokens are hexadecimal, so a token never ends with the mark.
   */
  static final String WAITED_MARK = "*";

  /**
   * Per entry: the value if there is one; else {@code SET lease token NX PX ttl}, answering
   * {@link #GRANTED} when that took the lease and {@link #CONTENDED} when another caller holds it.
   * When ARGV[2] is {@code "1"} (the caller listens for lease ends), a contended lease is marked
   * with {@link #WAITED_MARK}, once. A value key that holds another type (another application's
   * hash or list: {@code GET} answers WRONGTYPE) answers an empty value, which the core takes for a
   * value it did not write: loaded around, left alone, no lease taken over it. Failing the script
   * instead would fail the lookup of every other entry of the call (a bulk read's whole slot
   * group) and strand the leases granted to them.
   * KEYS: value1, lease1, value2, lease2, ...; ARGV: lease TTL in ms, mark flag, token1, ...
   * Reply: one element per entry, a bulk string (the value) or an integer.
   */
  static final Script GET_OR_LEASE = new Script("getOrLease", """
      local result = {}
      local mark = ARGV[2] == '1'
      for i = 1, #KEYS / 2 do
        local value = redis.pcall('GET', KEYS[2 * i - 1])
        if type(value) == 'table' then
          result[i] = ''
        elseif value then
          result[i] = value
        elseif redis.call('SET', KEYS[2 * i], ARGV[i + 2], 'NX', 'PX', ARGV[1]) then
          result[i] = 1
        else
          if mark then
            local lease = redis.call('GET', KEYS[2 * i])
            if lease and string.sub(lease, -1) ~= '%1$s' then
              redis.call('APPEND', KEYS[2 * i], '%1$s')
            end
          end
          result[i] = 0
        end
      end
      return result
      """.formatted(WAITED_MARK), ScriptOutputType.MULTI);

  /**
   * Per entry: if the lease key still holds the entry's token (marked or not), store the value
   * with its TTL and delete the lease (1), else change nothing (0). A delete of the entry removed
   * the lease, so a load that began before the delete cannot store its result after it. A value
   * that is not this library's ({@code CacheStore.isEntry}, checked on the two bytes
   * {@code GETRANGE} reads, O(1) whatever the value's size; or a key of another type), written by
   * another application while the lease was held, is left as it is: the lease is deleted and
   * nothing stored (0). A marked lease's end is published on {@link #LEASE_ENDED_CHANNEL}; the
   * value keys whose value was replaced (a refresh) on {@link Invalidations#CHANNEL}, in one
   * message.
   * KEYS: value1, lease1, ...; ARGV: token1, value1, ttl1 in ms, token2, ...
   * Reply: one integer per entry.
   */
  static final Script SET_IF_LEASED = new Script("setIfLeased", """
      local mark = string.char(%4$d)
      local result = {}
      local replaced = {}
      for i = 1, #KEYS / 2 do
        local a = 3 * i - 2
        local lease = redis.call('GET', KEYS[2 * i])
        local waited = lease and lease ~= ARGV[a] and lease == ARGV[a] .. '%1$s'
        result[i] = 0
        if lease == ARGV[a] or waited then
          local head = redis.pcall('GETRANGE', KEYS[2 * i - 1], 0, 1)
          local present = head ~= '' or redis.call('EXISTS', KEYS[2 * i - 1]) == 1
          local ours = type(head) == 'string' and #head == 2 and string.sub(head, 1, 1) == mark
          if ours or not present then
            if present then
              replaced[#replaced + 1] = KEYS[2 * i - 1]
            end
            redis.call('SET', KEYS[2 * i - 1], ARGV[a + 1], 'PX', ARGV[a + 2])
            result[i] = 1
          end
          redis.call('DEL', KEYS[2 * i])
          if waited then
            redis.pcall('PUBLISH', '%2$s', KEYS[2 * i - 1])
          end
        end
      end
      if #replaced > 0 then
        redis.pcall('PUBLISH', '%3$s', table.concat(replaced))
      end
      return result
      """.formatted(WAITED_MARK, LEASE_ENDED_CHANNEL, Invalidations.CHANNEL,
      CacheStore.ENTRY_MARK & 0xFF), ScriptOutputType.MULTI);

  /**
   * A plain store (leases off): {@code SET value PX ttl}, and, if a value was there, its value key
   * announced on {@link Invalidations#CHANNEL} in the same atomic step, as {@link #SET_IF_LEASED}
   * announces a replace: another instance's near cache may hold a copy of the value replaced (a
   * refresh without leases), which nothing else would drop before its expiry. A store into an
   * absent key announces nothing, so a miss's store costs no message. The entry's lease, if any,
   * stays. KEYS: value; ARGV: value, ttl in ms. Reply: 0.
   */
  static final Script SET_ANNOUNCED = new Script("set", """
      local replaced = redis.call('EXISTS', KEYS[1]) == 1
      redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
      if replaced then
        redis.pcall('PUBLISH', '%1$s', KEYS[1])
      end
      return 0
      """.formatted(Invalidations.CHANNEL), ScriptOutputType.INTEGER);

  /**
   * Deletes values and their leases, and announces the value keys on
   * {@link Invalidations#CHANNEL} in one message, in the same atomic step, whether or not they
   * were there: a near cache may hold a copy of a value Redis evicted. The announcement is
   * published with {@code redis.pcall}, so a Redis ACL that refuses it (the user needs
   * {@code &cache-aside:*}) does not fail the delete; near caches then keep copies until their
   * TTL.
   * KEYS: value1, lease1, value2, lease2, ... (of one slot). Reply: 0.
   */
  static final Script DELETE = new Script("delete", """
      local changed = {}
      for i = 1, #KEYS, 2 do
        redis.call('DEL', KEYS[i], KEYS[i + 1])
        changed[#changed + 1] = KEYS[i]
      end
      redis.pcall('PUBLISH', '%1$s', table.concat(changed))
      return 0
      """.formatted(Invalidations.CHANNEL), ScriptOutputType.INTEGER);

  /**
   * Deletes a lease only while it holds the given token (marked or not): a holder whose lease
   * expired and was taken over must not release its successor's lease. A marked lease's end is
   * published on {@link #LEASE_ENDED_CHANNEL}, so that waiters take the lease over at once.
   * KEYS: lease, value; ARGV: token. Reply: 1 when released, 0 when the lease was not the token's.
   */
  static final Script RELEASE_LEASE = new Script("releaseLease", """
      local lease = redis.call('GET', KEYS[1])
      if lease == ARGV[1] then
        return redis.call('DEL', KEYS[1])
      end
      if lease and lease == ARGV[1] .. '%1$s' then
        local released = redis.call('DEL', KEYS[1])
        redis.pcall('PUBLISH', '%2$s', KEYS[2])
        return released
      end
      return 0
      """.formatted(WAITED_MARK, LEASE_ENDED_CHANNEL), ScriptOutputType.INTEGER);
}
