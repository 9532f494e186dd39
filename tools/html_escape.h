/* Writing untrusted text (function names, file paths, tag names from any
 * profile) into SVG, HTML and inline <script> JSON without breaking the
 * markup. Invalid UTF-8 and characters XML forbids become U+FFFD, so every
 * document we write stays well-formed whatever the input held. */
#ifndef HP_CLI_HTML_ESCAPE_H
#define HP_CLI_HTML_ESCAPE_H

#include "../heapprof/internal_alloc.h"

#include <stddef.h>

/* Appends s as XML/HTML character data, usable in text and in quoted
 * attribute values (& < > " ' escaped). */
void html_text(hp_buf *b, const char *s);
/* The same for the first n bytes of s. */
void html_text_n(hp_buf *b, const char *s, size_t n);

/* Appends s as a JSON string literal that is also safe inside an HTML
 * <script> element: '<', '>' and '&' are written as \u escapes, so no
 * "</script>" or "<!--" can end or change the script early. */
void html_json_string(hp_buf *b, const char *s);

/* Number of characters (code points; each invalid byte counts as one) in s. */
size_t html_utf8_chars(const char *s);
/* Bytes taken by the first `chars` characters of s (whole characters only). */
size_t html_utf8_prefix(const char *s, size_t chars);

#endif
