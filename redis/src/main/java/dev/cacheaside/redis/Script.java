package dev.cacheaside.redis;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.reactive.RedisClusterReactiveCommands;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import reactor.core.publisher.Flux;

/**
 * A Lua script run by its SHA-1 digest ({@code EVALSHA}), so each call sends 40 bytes instead of
 * the script.
 *
 * <p>The digest is computed here, on the client, instead of asking Redis with {@code SCRIPT LOAD}:
 * that needs no round trip when the store is created and no node list in a cluster. A node that
 * does not have the script (it never ran it, it restarted, failed over, or someone ran
 * {@code SCRIPT FLUSH}) answers {@code NOSCRIPT}; the call is then retried once with
 * {@code EVAL} and the whole body. {@code EVAL} also puts the script into that node's script
 * cache, so it is the reload and the retry in one round trip, on the very node that owns the
 * keys, and no flush can slip in between a load and the retry. A second failure is the caller's
 * error.
 */
final class Script {
  private final String name;
  private final byte[] body;
  private final String sha;
  private final ScriptOutputType output;

  Script(String name, String body, ScriptOutputType output) {
    this.name = name;
    this.body = body.getBytes(StandardCharsets.UTF_8);
    this.sha = sha1Hex(this.body);
    this.output = output;
  }

  /** The SHA-1 digest Redis knows the script by, as {@code SCRIPT EXISTS} takes it. */
  String sha() {
    return sha;
  }

  /**
   * Runs the script on the node that owns {@code keys} (all in one hash slot in a cluster).
   * Lazy, as Lettuce's commands are: nothing is sent until subscription.
   */
  <T> Flux<T> run(RedisClusterReactiveCommands<String, byte[]> redis, String[] keys,
      byte[]... args) {
    return redis.<T>evalsha(sha, output, keys, args)
        .onErrorResume(Script::isNoScript, e -> redis.<T>eval(body, output, keys, args));
  }

  static boolean isNoScript(Throwable e) {
    if (e instanceof RedisNoScriptException) {
      return true;
    }
    // Older servers and proxies may not map to the dedicated type; the reply prefix is the
    // protocol's contract.
    String message = e.getMessage();
    return e instanceof RedisCommandExecutionException && message != null
        && message.startsWith("NOSCRIPT");
  }

  private static String sha1Hex(byte[] bytes) {
    MessageDigest sha1;
    try {
      sha1 = MessageDigest.getInstance("SHA-1");
    } catch (NoSuchAlgorithmException e) {
      // Every Java platform must provide SHA-1 (MessageDigest's class documentation).
      throw new IllegalStateException("SHA-1 is not available", e);
    }
    byte[] digest = sha1.digest(bytes);
    StringBuilder hex = new StringBuilder(digest.length * 2);
    for (byte b : digest) {
      hex.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
    }
    return hex.toString();
  }

  @Override
  public String toString() {
    return "Script[" + name + ", sha=" + sha + "]";
  }
}
