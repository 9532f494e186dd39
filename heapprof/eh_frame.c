#define _GNU_SOURCE
#include "eh_frame.h"

#include <stddef.h>
#include <string.h>

static uint64_t standard_rule(int cfa_rbp, int64_t cfa_off, int rbp_saved, int64_t rbp_off) {
    if (cfa_off != (int32_t)cfa_off || rbp_off != (int16_t)rbp_off) return HP_RULE_UNSUPPORTED;
    return HP_RULE_STANDARD | (cfa_rbp ? HP_RULE_CFA_RBP : 0) |
           (rbp_saved ? HP_RULE_RBP_SAVED : 0) | (uint64_t)(uint16_t)rbp_off << 16 |
           (uint64_t)(uint32_t)cfa_off << 32;
}

/* ---- reading .eh_frame ---- */

typedef struct reader {
    const uint8_t *p;
    int bad;
} reader;

static uint64_t uleb(reader *r) {
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        uint8_t b = *r->p++;
        if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
}

static int64_t sleb(reader *r) {
    int64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        b = *r->p++;
        if (shift < 64) v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
        shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40)) v |= -((int64_t)1 << shift);
    return v;
}

#define U(type, r)                                                                                 \
    ({                                                                                             \
        type v_;                                                                                   \
        memcpy(&v_, (r)->p, sizeof v_);                                                            \
        (r)->p += sizeof v_;                                                                       \
        v_;                                                                                        \
    })

/* A pointer in DWARF's exception-header encoding; datarel is relative to
 * base. Marks the reader bad for encodings ordinary x86-64 code never
 * uses here (text- and function-relative, aligned). */
static uintptr_t encoded(reader *r, uint8_t enc, uintptr_t base) {
    if (enc == 0xff) return 0; /* omitted */
    uintptr_t at = (uintptr_t)r->p, v;
    switch (enc & 0x0f) {
    case 0x00:
        v = U(uint64_t, r);
        break;
    case 0x01:
        v = (uintptr_t)uleb(r);
        break;
    case 0x02:
        v = U(uint16_t, r);
        break;
    case 0x03:
        v = U(uint32_t, r);
        break;
    case 0x04:
        v = U(uint64_t, r);
        break;
    case 0x09:
        v = (uintptr_t)sleb(r);
        break;
    case 0x0a:
        v = (uintptr_t)(int64_t)U(int16_t, r);
        break;
    case 0x0b:
        v = (uintptr_t)(int64_t)U(int32_t, r);
        break;
    case 0x0c:
        v = (uintptr_t)U(int64_t, r);
        break;
    default:
        r->bad = 1;
        return 0;
    }
    switch (enc & 0x70) {
    case 0x00:
        break;
    case 0x10:
        v += at;
        break;
    case 0x30:
        v += base;
        break;
    default:
        r->bad = 1;
        return 0;
    }
    if (enc & 0x80) r->bad = 1; /* indirect: only personality pointers, which are skipped */
    return v;
}

typedef struct cie_info {
    uint64_t code_align;
    int64_t data_align;
    uint8_t fde_enc;
    int z, signal;
    const uint8_t *insns, *end;
} cie_info;

/* Reads the length field of a CIE or FDE; returns the end of the entry. */
static const uint8_t *entry_end(reader *r) {
    uint32_t len = U(uint32_t, r);
    if (len == 0xffffffffu) {
        uint64_t l64 = U(uint64_t, r);
        return r->p + l64;
    }
    return r->p + len;
}

static int parse_cie(const uint8_t *at, cie_info *c) {
    reader r = {at, 0};
    c->end = entry_end(&r);
    if (U(uint32_t, &r) != 0) return -1; /* not a CIE */
    uint8_t version = *r.p++;
    if (version != 1 && version != 3) return -1;
    const char *aug = (const char *)r.p;
    r.p += strlen(aug) + 1;
    c->code_align = uleb(&r);
    c->data_align = sleb(&r);
    uint64_t ra = version == 1 ? *r.p++ : uleb(&r);
    if (ra != 16) return -1;
    c->fde_enc = 0;
    c->z = c->signal = 0;
    if (aug[0] == 'z') {
        c->z = 1;
        uint64_t len = uleb(&r);
        const uint8_t *data_end = r.p + len;
        for (const char *a = aug + 1; *a; a++) {
            if (*a == 'R')
                c->fde_enc = *r.p++;
            else if (*a == 'L')
                r.p++;
            else if (*a == 'S')
                c->signal = 1;
            else if (*a == 'P') {
                uint8_t enc = *r.p++;
                encoded(&r, enc & 0x7f, 0);
            } else if (*a != 'B')
                return -1;
        }
        r.p = data_end;
    } else if (aug[0]) {
        return -1;
    }
    c->insns = r.p;
    return r.bad ? -1 : 0;
}

/* ---- executing the CFA program up to pc ---- */

enum { HOW_SAME, HOW_UNDEF, HOW_OFFSET, HOW_OTHER };

typedef struct row {
    int cfa_reg, cfa_expr;
    int64_t cfa_off;
    /* Only the registers the walk needs: rbp, rsp and the return address
     * (DWARF 6, 7, 16; see slot()). A smaller row is what makes the
     * remember/restore copies and the set-up cheap on large functions. */
    uint8_t how[3];
    int64_t off[3];
} row;

#define STATE_DEPTH 16

typedef struct cfa_vm {
    row cur, init;
    row saved[STATE_DEPTH];
    int nsaved;
    uintptr_t loc, pc;
    const cie_info *cie;
} cfa_vm;

enum { RBP, RSP, RA };

/* The row slot of DWARF register reg, or -1 for one the walk never needs. */
static inline int slot(uint64_t reg) {
    return reg == 6 ? RBP : reg == 7 ? RSP : reg == 16 ? RA : -1;
}

static void set_rule(row *w, uint64_t reg, int how, int64_t off) {
    int i = slot(reg);
    if (i < 0) return;
    w->how[i] = (uint8_t)how;
    w->off[i] = off;
}

static void restore_rule(cfa_vm *vm, uint64_t reg) {
    int i = slot(reg);
    if (i < 0) return;
    vm->cur.how[i] = vm->init.how[i];
    vm->cur.off[i] = vm->init.off[i];
}

/* Runs instructions [p, end) while the location stays <= pc. Returns -1 on
 * an instruction it does not know. */
static int run(cfa_vm *vm, const uint8_t *p, const uint8_t *end) {
    reader r = {p, 0};
    const int64_t daf = vm->cie->data_align;
    while (r.p < end && !r.bad) {
        uint8_t op = *r.p++;
        uint64_t reg, delta = 0;
        switch (op >> 6) {
        case 1:
            delta = op & 0x3f;
            goto advance;
        case 2:
            set_rule(&vm->cur, op & 0x3f, HOW_OFFSET, (int64_t)uleb(&r) * daf);
            continue;
        case 3:
            restore_rule(vm, op & 0x3f);
            continue;
        }
        switch (op) {
        case 0x00:
            break; /* nop */
        case 0x01: {
            uintptr_t to = encoded(&r, vm->cie->fde_enc, 0);
            if (to > vm->pc) return 0;
            vm->loc = to;
            break;
        }
        case 0x02:
            delta = *r.p++;
            goto advance;
        case 0x03:
            delta = U(uint16_t, &r);
            goto advance;
        case 0x04:
            delta = U(uint32_t, &r);
            goto advance;
        case 0x05:
            reg = uleb(&r);
            set_rule(&vm->cur, reg, HOW_OFFSET, (int64_t)uleb(&r) * daf);
            break;
        case 0x06:
            restore_rule(vm, uleb(&r));
            break;
        case 0x07:
            set_rule(&vm->cur, uleb(&r), HOW_UNDEF, 0);
            break;
        case 0x08:
            set_rule(&vm->cur, uleb(&r), HOW_SAME, 0);
            break;
        case 0x09:
            reg = uleb(&r);
            uleb(&r);
            set_rule(&vm->cur, reg, HOW_OTHER, 0);
            break;
        case 0x0a:
            if (vm->nsaved == STATE_DEPTH) return -1;
            vm->saved[vm->nsaved++] = vm->cur;
            break;
        case 0x0b: {
            if (!vm->nsaved) return -1;
            /* the CFA is part of the saved state too */
            vm->cur = vm->saved[--vm->nsaved];
            break;
        }
        case 0x0c:
            vm->cur.cfa_reg = (int)uleb(&r);
            vm->cur.cfa_off = (int64_t)uleb(&r);
            vm->cur.cfa_expr = 0;
            break;
        case 0x0d:
            vm->cur.cfa_reg = (int)uleb(&r);
            vm->cur.cfa_expr = 0;
            break;
        case 0x0e:
            vm->cur.cfa_off = (int64_t)uleb(&r);
            break;
        case 0x0f:
            r.p += uleb(&r);
            vm->cur.cfa_expr = 1;
            break;
        case 0x10:
        case 0x16: /* expression, val_expression */
            reg = uleb(&r);
            r.p += uleb(&r);
            set_rule(&vm->cur, reg, HOW_OTHER, 0);
            break;
        case 0x11:
            reg = uleb(&r);
            set_rule(&vm->cur, reg, HOW_OFFSET, sleb(&r) * daf);
            break;
        case 0x12:
            vm->cur.cfa_reg = (int)uleb(&r);
            vm->cur.cfa_off = sleb(&r) * daf;
            vm->cur.cfa_expr = 0;
            break;
        case 0x13:
            vm->cur.cfa_off = sleb(&r) * daf;
            break;
        case 0x14:
        case 0x15: /* val_offset, val_offset_sf */
            reg = uleb(&r);
            if (op == 0x14)
                uleb(&r);
            else
                sleb(&r);
            set_rule(&vm->cur, reg, HOW_OTHER, 0);
            break;
        case 0x2e:
            uleb(&r);
            break; /* GNU_args_size */
        case 0x2f:
            reg = uleb(&r);
            set_rule(&vm->cur, reg, HOW_OFFSET, -(int64_t)uleb(&r) * daf);
            break;
        default:
            return -1;
        }
        continue;
    advance:
        if (vm->loc + delta * vm->cie->code_align > vm->pc) return 0;
        vm->loc += delta * vm->cie->code_align;
    }
    return r.bad ? -1 : 0;
}

static uint64_t classify(const row *w) {
    if (w->cfa_expr || (w->cfa_reg != 6 && w->cfa_reg != 7)) return HP_RULE_UNSUPPORTED;
    /* As libunwind: an undefined return address or rbp ends the chain. */
    if (w->how[RA] == HOW_UNDEF || w->how[RBP] == HOW_UNDEF) return HP_RULE_LAST;
    if (w->how[RA] != HOW_OFFSET || w->off[RA] != -8) return HP_RULE_UNSUPPORTED;
    if (w->how[RBP] != HOW_SAME && w->how[RBP] != HOW_OFFSET) return HP_RULE_UNSUPPORTED;
    if (w->how[RSP] != HOW_SAME && w->how[RSP] != HOW_UNDEF && w->how[RSP] != HOW_OFFSET)
        return HP_RULE_UNSUPPORTED;
    return standard_rule(w->cfa_reg == 6, w->cfa_off, w->how[RBP] == HOW_OFFSET, w->off[RBP]);
}

static uint64_t rule_from_fde(const uint8_t *fde, uintptr_t pc) {
    reader r = {fde, 0};
    const uint8_t *end = entry_end(&r);
    const uint8_t *id_at = r.p;
    uint32_t id = U(uint32_t, &r);
    if (!id) return HP_RULE_UNSUPPORTED; /* a CIE where an FDE should be */
    cie_info cie;
    if (parse_cie(id_at - id, &cie) || cie.signal) return HP_RULE_UNSUPPORTED;
    uintptr_t begin = encoded(&r, cie.fde_enc, 0);
    uintptr_t range = encoded(&r, cie.fde_enc & 0x0f, 0);
    if (r.bad) return HP_RULE_UNSUPPORTED;
    if (pc < begin || pc - begin >= range) return HP_RULE_NO_FDE;
    if (cie.z) {
        uint64_t len = uleb(&r);
        r.p += len;
    }
    cfa_vm vm;
    memset(&vm, 0, sizeof vm);
    vm.cie = &cie;
    vm.pc = UINTPTR_MAX;
    if (run(&vm, cie.insns, cie.end)) return HP_RULE_UNSUPPORTED;
    vm.init = vm.cur;
    vm.nsaved = 0;
    vm.loc = begin;
    vm.pc = pc;
    if (run(&vm, r.p, end)) return HP_RULE_UNSUPPORTED;
    return classify(&vm.cur);
}

/* The FDE covering pc from .eh_frame_hdr's binary-search table. */
static uint64_t rule_from_hdr(const uint8_t *hdr, uintptr_t pc) {
    if (hdr[0] != 1) return HP_RULE_UNSUPPORTED;
    uint8_t ptr_enc = hdr[1], count_enc = hdr[2], table_enc = hdr[3];
    reader r = {hdr + 4, 0};
    encoded(&r, ptr_enc, (uintptr_t)hdr);
    uintptr_t count = encoded(&r, count_enc, (uintptr_t)hdr);
    /* A table of datarel sdata4 pairs is what every linker writes; without
     * one libunwind would search .eh_frame itself, and so may do that. */
    if (r.bad || count_enc == 0xff || table_enc != 0x3b) return HP_RULE_UNSUPPORTED;
    if (!count) return HP_RULE_NO_FDE;
    const uint8_t *table = r.p;
    size_t lo = 0, hi = count;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        int32_t start;
        memcpy(&start, table + mid * 8, 4);
        if ((uintptr_t)hdr + (intptr_t)start <= pc)
            lo = mid;
        else
            hi = mid;
    }
    int32_t start, fde;
    memcpy(&start, table + lo * 8, 4);
    memcpy(&fde, table + lo * 8 + 4, 4);
    if ((uintptr_t)hdr + (intptr_t)start > pc) return HP_RULE_NO_FDE;
    return rule_from_fde(hdr + fde, pc);
}

uint64_t hp_eh_frame_rule(const uint8_t *hdr, uintptr_t pc) {
    return hdr ? rule_from_hdr(hdr, pc) : HP_RULE_NO_FDE;
}
