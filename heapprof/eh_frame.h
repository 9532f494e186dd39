/*
 * Unwind rules read from a module's .eh_frame (through .eh_frame_hdr's
 * sorted table), for the fast walker of unwind.c. Only the frames
 * libunwind's own fast trace handles on x86-64 get a usable rule: the CFA
 * is rsp or rbp plus an offset, the return address is at CFA - 8, and rbp
 * is unchanged or saved at CFA + an offset. Only the CFA instructions
 * compilers emit for ordinary code are interpreted; anything else is
 * "unsupported", and the walker leaves such stacks to libunwind.
 */
#ifndef HP_EH_FRAME_H
#define HP_EH_FRAME_H

#include <stdint.h>

/* A rule in 64 bits: kind (2 bits), CFA base (rbp if set, else rsp), rbp
 * saved at CFA + rbp_off (else unchanged), rbp_off (16 bits), CFA offset
 * (32 bits). Never 0, so that 0 can mean "not known yet". */
enum { HP_RULE_NOINFO = 0, HP_RULE_UNSUPPORTED = 1, HP_RULE_LAST = 2, HP_RULE_STANDARD = 3 };
#define HP_RULE_KIND(r) ((unsigned)(r)&3u)
#define HP_RULE_CFA_RBP 4u
#define HP_RULE_RBP_SAVED 8u
#define HP_RULE_NO_FDE 16u /* kind NOINFO: no unwind information covers pc */
#define HP_RULE_RBP_OFF(r) ((int64_t)(int16_t)((r) >> 16))
#define HP_RULE_CFA_OFF(r) ((int64_t)(int32_t)((r) >> 32))

/* The rule at pc, in the module whose PT_GNU_EH_FRAME segment is at hdr
 * (NULL: the module has none). pc is the instruction to describe: for a
 * return address, the call before it. */
uint64_t hp_eh_frame_rule(const uint8_t *hdr, uintptr_t pc) __attribute__((visibility("hidden")));

#endif
