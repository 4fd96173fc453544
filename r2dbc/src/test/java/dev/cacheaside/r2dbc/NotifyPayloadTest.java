package dev.cacheaside.r2dbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NotifyPayloadTest {

  @Test
  void parse_ofTheTriggersFormat_givesSchemaTableColumnAndKeys() {
    assertThat(NotifyPayload.parse("6:public7:product2:id2:422:43"))
        .isEqualTo(new NotifyPayload("public", "product", "id", List.of("42", "43")));
    assertThat(NotifyPayload.parse("6:public7:product2:id"))
        .as("no key: any key may have changed")
        .isEqualTo(new NotifyPayload("public", "product", "id", List.of()));
  }

  @Test
  void format_thenParse_roundTrips_lengthsCountedInCodePoints() {
    NotifyPayload payload = new NotifyPayload("shop", "Pröducts", "slug",
        List.of("a:b:3:c", "emoji-\uD83D\uDE00"));

    String text = payload.format();

    assertThat(text).isEqualTo("4:shop8:Pröducts4:slug7:a:b:3:c7:emoji-\uD83D\uDE00");
    assertThat(NotifyPayload.parse(text)).isEqualTo(payload);
    NotifyPayload emptyKey = new NotifyPayload("s", "t", "c", List.of(""));
    assertThat(NotifyPayload.parse(emptyKey.format())).isEqualTo(emptyKey);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "hello", "6:public", "6:public7:product", "x:public7:product2:id",
      "6:public7:product2:id9:42", "6:public7:product2:id1:11:21:3", ":public7:product2:id",
      "99999:public"})
  void parse_ofAnythingElse_isNull(String text) {
    assertThat(NotifyPayload.parse(text)).isNull();
  }
}
