/* Attribution tags (interned names, a stack per thread) and user labels
 * (key/value pairs per thread, interned as label sets). */
#ifndef HP_TAGS_H
#define HP_TAGS_H

#include <stdint.h>

#define HP_TAG_INITIAL 1u  /* HEAPPROF_TAG; every thread starts here */
#define HP_TAG_OVERFLOW 2u /* "[other]": where new names go once the table is full */
#define HP_MAX_TAGS 65536u
#define HP_MAX_LABELS 16

/* Names the initial tag after the configuration is read. */
void hp_tags_start(const char *initial_name) __attribute__((visibility("hidden")));

/* Name of tag id (never NULL for an id that was handed out). */
const char *hp_tag_name(uint32_t tag) __attribute__((visibility("hidden")));

/* Number of tag ids handed out so far (ids are 1..count). */
uint32_t hp_tag_count(void) __attribute__((visibility("hidden")));

/* Exact lifetime totals of a tag, as flushed so far. */
void hp_tag_lifetime(uint32_t tag, uint64_t *bytes, uint64_t *objects)
    __attribute__((visibility("hidden")));

typedef struct hp_label_set {
    uint32_t count;
    const char *keys[HP_MAX_LABELS];
    const char *values[HP_MAX_LABELS];
} hp_label_set;

/* The label set with this id (0 = empty), or NULL. */
const hp_label_set *hp_label_set_get(uint32_t id) __attribute__((visibility("hidden")));

/* Fork handling. */
void hp_tags_lock(void) __attribute__((visibility("hidden")));
void hp_tags_unlock(void) __attribute__((visibility("hidden")));
void hp_tags_reset_lock(void) __attribute__((visibility("hidden")));

#endif
