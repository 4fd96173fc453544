package dev.cacheaside.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PgUrlTest {

  @Test
  void parse_readsEveryPart() {
    assertThat(PgUrl.parse("postgresql://app:s3cret@db.example:6543/catalog"))
        .isEqualTo(new PgUrl("db.example", 6543, "catalog", "app", "s3cret"));
  }

  @Test
  void parse_acceptsTheR2dbcPrefixAndThePostgresScheme() {
    assertThat(PgUrl.parse("r2dbc:postgresql://app:pw@localhost:5432/db"))
        .isEqualTo(new PgUrl("localhost", 5432, "db", "app", "pw"));
    assertThat(PgUrl.parse("postgres://app@localhost/db"))
        .isEqualTo(new PgUrl("localhost", 5432, "db", "app", ""));
  }

  @Test
  void parse_missingParts_defaultLikeLibpq() {
    assertThat(PgUrl.parse("postgresql://localhost"))
        .isEqualTo(new PgUrl("localhost", 5432, "postgres", "postgres", ""));
  }

  @Test
  void parse_decodesEscapedCharacters() {
    assertThat(PgUrl.parse("postgresql://app:p%40ss+w%3Ard@localhost/my%20db"))
        .isEqualTo(new PgUrl("localhost", 5432, "my db", "app", "p@ss+w:rd"));
  }

  @Test
  void parse_rejectsOtherSchemes_withoutShowingThePassword() {
    assertThatThrownBy(() -> PgUrl.parse("mysql://app:s3cret@localhost/db"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("mysql://app:***@localhost/db")
        .hasMessageNotContaining("s3cret");
  }

  @Test
  void toString_leavesThePasswordOut() {
    assertThat(PgUrl.parse("postgresql://app:s3cret@localhost/db").toString()).doesNotContain("s3cret");
  }
}
