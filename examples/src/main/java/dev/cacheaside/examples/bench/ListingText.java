package dev.cacheaside.examples.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Product listings of a chosen size made of English-like text: words drawn from a vocabulary with
 * Zipf frequencies, as prose has them, in sentences and paragraphs. Compressors find in it what
 * they find in real descriptions and reviews (repeated words and phrases, a small alphabet), which
 * random bytes would not have; seeded by the id, so every run makes the same listings.
 */
final class ListingText {
  private static final String[] WORDS = ("the of and a to in is for with it this that on you are"
      + " as be at by from or have not your can its our we they all one more will when so very"
      + " kettle lamp chair backpack notebook jacket bottle steel oak linen cotton leather glass"
      + " handle lid base strap pocket zip seam finish colour size weight warranty delivery return"
      + " quality design comfort light heavy small large soft sturdy quiet warm cool bright dark"
      + " daily use kitchen office travel home outdoor winter summer gift set pair pack piece"
      + " easy clean keep fits holds lasts works feels looks arrived ordered bought recommend"
      + " great good nice solid well made cheap price worth value better than expected after"
      + " month week year first second again every time would buy love like really also just"
      + " but only still because while although however which who what how where there then"
      + " review customer rating stars fast shipping box packaging instructions assembly tools"
      + " minutes water tea coffee boil whistle cord socket switch bulb shade desk reading").split(" ");
  private static final Zipf ZIPF = new Zipf(WORDS.length, 1.1);
  private static final String[] TAGS = {"kitchen", "home", "office", "travel", "gift", "outdoor",
      "steel", "oak", "linen", "bestseller", "new", "eco"};

  private ListingText() {}

  /** The listing of {@code id} whose JSON is about {@code bytes} long. */
  static ValueSizeBenchmark.Listing listing(long id, int bytes) {
    SplittableRandom random = new SplittableRandom(id * 7919 + bytes);
    List<String> tags = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      tags.add(TAGS[random.nextInt(TAGS.length)]);
    }
    String name = capitalized(sentence(random, 3 + random.nextInt(3))) + " #" + id;
    // About 80 bytes of JSON besides the paragraphs.
    List<String> paragraphs = new ArrayList<>();
    int length = 80 + name.length();
    while (length < bytes) {
      String paragraph = paragraph(random, Math.min(600, bytes - length));
      paragraphs.add(paragraph);
      length += paragraph.length() + 3;
    }
    return new ValueSizeBenchmark.Listing(id, name, 100 + (id * 37) % 9900, tags, paragraphs);
  }

  private static String paragraph(SplittableRandom random, int chars) {
    StringBuilder text = new StringBuilder();
    while (text.length() < chars) {
      text.append(text.length() == 0 ? "" : " ")
          .append(capitalized(sentence(random, 6 + random.nextInt(13)))).append('.');
    }
    return text.length() > chars ? text.substring(0, Math.max(1, chars)) : text.toString();
  }

  private static String sentence(SplittableRandom random, int words) {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < words; i++) {
      text.append(i == 0 ? "" : " ").append(WORDS[ZIPF.next(random)]);
    }
    return text.toString();
  }

  private static String capitalized(String text) {
    return Character.toUpperCase(text.charAt(0)) + text.substring(1);
  }
}
