#include "html_escape.h"

#include <stdint.h>
#include <string.h>

/* Decodes one character at s. Returns its length in bytes and sets *cp; a
 * byte that does not start a valid, shortest-form sequence returns 1 with
 * *cp = -1. */
static int decode(const unsigned char *s, int32_t *cp) {
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = (int32_t)c;
        return 1;
    }
    int n;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, v = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, v = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, v = c & 0x07, min = 0x10000;
    else {
        *cp = -1;
        return 1;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = -1;
            return 1;
        }
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = -1;
        return 1;
    }
    *cp = (int32_t)v;
    return n;
}

/* What XML 1.0 allows in a document (its Char production). */
static int xml_char(int32_t cp) {
    if (cp < 0) return 0;
    if (cp < 0x20) return cp == 0x9 || cp == 0xA || cp == 0xD;
    return cp != 0xFFFE && cp != 0xFFFF;
}

static const char replacement[] = "\xEF\xBF\xBD";

void html_text_n(hp_buf *b, const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)(str ? str : ""), *end = s + len;
    while (s < end && *s) {
        const unsigned char *run = s;
        /* copy plain ASCII in one go */
        while (s < end && *s >= 0x20 && *s < 0x80 && !strchr("&<>\"'", *s))
            s++;
        if (s > run) hp_buf_append(b, run, (size_t)(s - run));
        if (s >= end || !*s) break;
        switch (*s) {
        case '&':
            hp_buf_append(b, "&amp;", 5);
            s++;
            continue;
        case '<':
            hp_buf_append(b, "&lt;", 4);
            s++;
            continue;
        case '>':
            hp_buf_append(b, "&gt;", 4);
            s++;
            continue;
        case '"':
            hp_buf_append(b, "&quot;", 6);
            s++;
            continue;
        case '\'':
            hp_buf_append(b, "&#39;", 5);
            s++;
            continue;
        }
        int32_t cp;
        int n = decode(s, &cp);
        if (s + n > end) n = (int)(end - s), cp = -1;
        if (cp == '\n' || cp == '\t' || cp == '\r')
            hp_buf_printf(b, "&#%d;", (int)cp);
        else if (xml_char(cp))
            hp_buf_append(b, s, (size_t)n);
        else
            hp_buf_append(b, replacement, 3);
        s += n;
    }
}

void html_text(hp_buf *b, const char *s) {
    html_text_n(b, s, s ? strlen(s) : 0);
}

void html_json_string(hp_buf *b, const char *str) {
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    hp_buf_append(b, "\"", 1);
    while (*s) {
        int32_t cp;
        int n = decode(s, &cp);
        if (cp == '"' || cp == '\\')
            hp_buf_printf(b, "\\%c", (char)cp);
        else if (cp == '<' || cp == '>' || cp == '&' || (cp >= 0 && cp < 0x20) || cp == 0x2028 ||
                 cp == 0x2029)
            hp_buf_printf(b, "\\u%04x", (unsigned)cp);
        else if (cp < 0)
            hp_buf_append(b, replacement, 3);
        else
            hp_buf_append(b, s, (size_t)n);
        s += n;
    }
    hp_buf_append(b, "\"", 1);
}

size_t html_utf8_chars(const char *str) {
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t chars = 0;
    int32_t cp;
    while (*s)
        s += decode(s, &cp), chars++;
    return chars;
}

size_t html_utf8_prefix(const char *str, size_t chars) {
    const unsigned char *s = (const unsigned char *)(str ? str : ""), *start = s;
    int32_t cp;
    while (*s && chars--)
        s += decode(s, &cp);
    return (size_t)(s - start);
}
