/**
 * {@link dev.cacheaside.compression.CompressingCodec}: a {@link dev.cacheaside.core.Codec} wrapper
 * that compresses large values with LZ4 or Zstandard, marks each entry with how it was written,
 * and bounds what a decompression may produce by the cache's {@code maxValueBytes}.
 */
@NullMarked
package dev.cacheaside.compression;

import org.jspecify.annotations.NullMarked;
