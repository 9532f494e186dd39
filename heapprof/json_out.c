#include "json_out.h"

#include <stdint.h>

/* Length of the valid UTF-8 sequence at s, or 0 if it is not valid. */
static int utf8_len(const unsigned char *s) {
    if (s[0] < 0x80) return 1;
    int n = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 && s[0] < 0xE0 ? 2 : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return n;
}

void hp_json_string(hp_buf *b, const char *str) {
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    hp_buf_append(b, "\"", 1);
    while (*s) {
        if (*s == '"' || *s == '\\') {
            char esc[2] = {'\\', (char)*s};
            hp_buf_append(b, esc, 2);
            s++;
        } else if (*s < 0x20) {
            hp_buf_printf(b, "\\u%04x", *s);
            s++;
        } else {
            int n = utf8_len(s);
            if (n == 0) {
                hp_buf_append(b, "\xEF\xBF\xBD", 3);
                s++;
            } else {
                hp_buf_append(b, s, (size_t)n);
                s += n;
            }
        }
    }
    hp_buf_append(b, "\"", 1);
}
