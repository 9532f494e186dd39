/* Reads DHAT JSON (Valgrind's dhat-out.*, dhat-rs's, heapprof's). */
#define _GNU_SOURCE
#include "read.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses Valgrind's frame text: "0xADDR: fn (file:line)", "0xADDR: fn (in obj)",
 * "0xADDR: ???", dhat-rs's "0xaddr: fn (file:line:col)". Returns 0 for
 * heapprof's synthetic root frames ("[tag: X]"), which set *tag instead. */
static int parse_frame(const char *text, frame *f, const char **tag) {
    memset(f, 0, sizeof *f);
    if (!strcmp(text, "[root]")) return 0;
    if (!strncmp(text, "[tag: ", 6)) {
        size_t n = strlen(text);
        if (n > 7) *tag = model_strn(text + 6, n - 7);
        return 0;
    }
    const char *rest = text;
    if (!strncmp(text, "0x", 2) || !strncmp(text, "0X", 2)) {
        char *end;
        f->address = strtoull(text, &end, 16);
        rest = end;
        if (*rest == ':') rest++;
        while (*rest == ' ')
            rest++;
    }
    size_t n = strlen(rest);
    const char *open = NULL;
    if (n && rest[n - 1] == ')') {
        for (const char *q = rest + n - 1; q > rest; q--)
            if (q[0] == '(' && q[-1] == ' ') {
                open = q;
                break;
            }
    }
    if (!open) {
        f->function = model_str(!strcmp(rest, "???") ? "??" : rest);
        return 1;
    }
    f->function = model_strn(rest, (size_t)(open - 1 - rest));
    if (!strcmp(f->function, "???")) f->function = model_str("??");
    const char *inner = open + 1;
    size_t inner_len = (size_t)(rest + n - 1 - inner);
    if (inner_len > 3 && !strncmp(inner, "in ", 3)) {
        f->module = model_strn(inner + 3, inner_len - 3);
        return 1;
    }
    /* file:line or file:line:col — numbers from the right */
    char buf[4096];
    if (inner_len >= sizeof buf) inner_len = sizeof buf - 1;
    memcpy(buf, inner, inner_len);
    buf[inner_len] = 0;
    int numbers[2], k = 0;
    char *colon;
    while (k < 2 && (colon = strrchr(buf, ':')) && colon[1] &&
           strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
        numbers[k++] = atoi(colon + 1);
        *colon = 0;
    }
    f->file = model_str(buf);
    f->line = k == 2 ? numbers[1] : k == 1 ? numbers[0] : 0;
    return 1;
}

static double num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

profile *read_dhat(const char *text, const char *path) {
    const char *error = NULL;
    cJSON *doc = cJSON_Parse(text);
    profile *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->path = model_str(path);
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(doc, "dhatFileVersion");
    const cJSON *pps = cJSON_GetObjectItemCaseSensitive(doc, "pps");
    const cJSON *ftbl = cJSON_GetObjectItemCaseSensitive(doc, "ftbl");
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(doc, "schema");
    if (!doc)
        error = "not valid JSON";
    else if (cJSON_IsString(schema) && !strncmp(schema->valuestring, "heapprof-stats/", 15))
        error = "a heapprof stats file, not a profile: 'heapprof tags' and 'heapprof timeline' "
                "read it; give the other commands the .pb.gz or .dhat.json written with it";
    else if (!cJSON_IsNumber(version) || version->valueint != 2)
        error = "not a DHAT file (dhatFileVersion 2 expected)";
    else if (!cJSON_IsArray(pps) || !cJSON_IsArray(ftbl))
        error = "DHAT file without pps/ftbl";
    double rate = num(doc, "sampleRate"); /* heapprof's: bytes between samples */
    if (!error && !(rate >= 0 && rate <= 0x1p62))
        error = "damaged DHAT file (its sampleRate is not a byte count)";
    if (error) {
        fprintf(stderr, "heapprof: %s: %s\n", path, error);
        cJSON_Delete(doc);
        profile_free(p);
        return NULL;
    }
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(doc, "mode");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(doc, "cmd");
    const cJSON *tu = cJSON_GetObjectItemCaseSensitive(doc, "tu");
    int lifetimes = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "bklt"));
    p->source = cJSON_IsString(mode) && !strncmp(mode->valuestring, "heapprof", 8) ? "heapprof DHAT"
                                                                                   : "DHAT";
    p->command = cJSON_IsString(cmd) ? model_str(cmd->valuestring) : NULL;
    p->period = (int64_t)rate;
    /* The metric order matches heapprof's pprof files where they overlap. */
    static const struct {
        const char *name, *unit, *key;
        int needs_lifetimes;
    } fields[] = {{"alloc_objects", "count", "tbk", 0}, {"alloc_space", "bytes", "tb", 0},
                  {"inuse_objects", "count", "ebk", 1}, {"inuse_space", "bytes", "eb", 1},
                  {"peak_objects", "count", "mbk", 1},  {"peak_space", "bytes", "mb", 1},
                  {"gpeak_objects", "count", "gbk", 1}, {"gpeak_space", "bytes", "gb", 1},
                  {"lifetime", "tu", "tl", 1}};
    size_t nfields = sizeof fields / sizeof fields[0];
    for (size_t i = 0; i < nfields; i++) {
        if (fields[i].needs_lifetimes && !lifetimes) continue;
        const char *unit = strcmp(fields[i].unit, "tu") ? fields[i].unit
                           : cJSON_IsString(tu)         ? tu->valuestring
                                                        : "";
        profile_add_metric(p, fields[i].name, unit);
    }
    /* ftbl by index: cJSON_GetArrayItem walks the list from its start, which
     * made reading quadratic in the table's size. */
    int nframes_table = cJSON_GetArraySize(ftbl);
    const cJSON **table = malloc(((size_t)nframes_table + 1) * sizeof *table);
    if (!table) {
        fprintf(stderr, "heapprof: %s: out of memory\n", path);
        cJSON_Delete(doc);
        profile_free(p);
        return NULL;
    }
    const cJSON *ft;
    int nt = 0;
    cJSON_ArrayForEach(ft, ftbl) table[nt++] = ft;
    const cJSON *pp;
    cJSON_ArrayForEach(pp, pps) {
        sample *s = profile_add_sample(p);
        if (!s) break;
        for (size_t i = 0; i < nfields; i++) {
            int m = profile_metric(p, fields[i].name);
            if (m >= 0) s->values[m] = num(pp, fields[i].key);
        }
        const cJSON *fs = cJSON_GetObjectItemCaseSensitive(pp, "fs");
        int n = cJSON_GetArraySize(fs);
        s->frames = n ? calloc((size_t)n, sizeof *s->frames) : NULL;
        const cJSON *idx;
        cJSON_ArrayForEach(idx, fs) {
            int i = cJSON_IsNumber(idx) ? idx->valueint : -1;
            ft = i >= 0 && i < nframes_table ? table[i] : NULL;
            if (!ft || !cJSON_IsString(ft) || !s->frames) continue;
            if (parse_frame(ft->valuestring, &s->frames[s->nframes], &s->tag)) s->nframes++;
        }
        /* Valgrind's own allocator replacement is not the program's code: drop
         * the leading frames in its preload object, as DHAT's viewer would. */
        size_t skip = 0;
        while (skip < s->nframes && s->frames[skip].module &&
               strstr(s->frames[skip].module, "vgpreload_"))
            skip++;
        if (skip) {
            memmove(s->frames, s->frames + skip, (s->nframes - skip) * sizeof *s->frames);
            s->nframes -= skip;
        }
    }
    free(table);
    cJSON_Delete(doc);
    return p;
}
