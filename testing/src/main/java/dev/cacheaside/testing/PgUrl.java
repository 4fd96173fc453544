package dev.cacheaside.testing;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * Where an external PostgreSQL is: parsed from {@code postgresql://user:pass@host:port/db}, also with
 * an {@code r2dbc:} prefix or the {@code postgres://} scheme. Missing parts default as libpq's do:
 * port 5432, user {@code postgres}, database named like the user, no password.
 */
record PgUrl(String host, int port, String database, String username, String password) {

  static PgUrl parse(String url) {
    String text = url.trim();
    if (text.startsWith("r2dbc:")) {
      text = text.substring("r2dbc:".length());
    }
    URI uri;
    try {
      uri = new URI(text);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("not a PostgreSQL URL: " + redact(url), e);
    }
    if (!"postgresql".equals(uri.getScheme()) && !"postgres".equals(uri.getScheme())) {
      throw new IllegalArgumentException("expected postgresql://user:password@host:port/database, not " + redact(url));
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException("no host in " + redact(url));
    }
    String username = "postgres";
    String password = "";
    String userInfo = uri.getRawUserInfo();
    if (userInfo != null && !userInfo.isEmpty()) {
      int colon = userInfo.indexOf(':');
      username = decode(colon < 0 ? userInfo : userInfo.substring(0, colon));
      password = colon < 0 ? "" : decode(userInfo.substring(colon + 1));
    }
    String path = uri.getRawPath();
    String database = path == null || path.length() <= 1 ? username : decode(path.substring(1));
    return new PgUrl(uri.getHost(), uri.getPort() < 0 ? 5432 : uri.getPort(), database, username, password);
  }

  private static String decode(String text) {
    return URLDecoder.decode(text.replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  /** The URL without its password, for messages. */
  static String redact(String url) {
    return url.replaceAll("(://[^:/@]*:)[^@]*@", "$1***@");
  }

  @Override
  public String toString() {
    return "postgresql://" + username + "@" + host + ":" + port + "/" + database;
  }
}
