// C++ operator new/delete, every standard variant (C++17 aligned and C++14
// sized included). Written in C++ because failure must follow the language
// rules — call the installed new-handler, retry, and throw std::bad_alloc —
// which cannot be expressed from C. The memory itself comes from the C entry
// points, so it is counted and sampled exactly like malloc.
#include <cerrno>
#include <cstdlib>
#include <new>

extern "C" {
void *malloc(std::size_t);
void *aligned_alloc(std::size_t, std::size_t);
void free(void *);
}

#define HP_EXPORT __attribute__((visibility("default")))

namespace {

// Returns NULL only when nothrow and no handler can help.
template <bool NoThrow> void *allocate(std::size_t size, std::size_t alignment) {
    if (size == 0) size = 1; // distinct non-null pointers for zero-size requests
    for (;;) {
        void *p = alignment ? aligned_alloc(alignment, size) : malloc(size);
        if (p) return p;
        std::new_handler handler = std::get_new_handler();
        if (!handler) {
            if (NoThrow) return nullptr;
            throw std::bad_alloc();
        }
        if (NoThrow) {
            try {
                handler();
            } catch (...) {
                return nullptr;
            }
        } else {
            handler();
        }
    }
}

std::size_t alignment_of(std::align_val_t a) {
    std::size_t v = static_cast<std::size_t>(a);
    return v < sizeof(void *) ? sizeof(void *) : v;
}

} // namespace

HP_EXPORT void *operator new(std::size_t n) { return allocate<false>(n, 0); }
HP_EXPORT void *operator new[](std::size_t n) { return allocate<false>(n, 0); }
HP_EXPORT void *operator new(std::size_t n, const std::nothrow_t &) noexcept {
    return allocate<true>(n, 0);
}
HP_EXPORT void *operator new[](std::size_t n, const std::nothrow_t &) noexcept {
    return allocate<true>(n, 0);
}
HP_EXPORT void *operator new(std::size_t n, std::align_val_t a) {
    return allocate<false>(n, alignment_of(a));
}
HP_EXPORT void *operator new[](std::size_t n, std::align_val_t a) {
    return allocate<false>(n, alignment_of(a));
}
HP_EXPORT void *operator new(std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept {
    return allocate<true>(n, alignment_of(a));
}
HP_EXPORT void *operator new[](std::size_t n, std::align_val_t a,
                               const std::nothrow_t &) noexcept {
    return allocate<true>(n, alignment_of(a));
}

HP_EXPORT void operator delete(void *p) noexcept { free(p); }
HP_EXPORT void operator delete[](void *p) noexcept { free(p); }
HP_EXPORT void operator delete(void *p, const std::nothrow_t &) noexcept { free(p); }
HP_EXPORT void operator delete[](void *p, const std::nothrow_t &) noexcept { free(p); }
HP_EXPORT void operator delete(void *p, std::size_t) noexcept { free(p); }
HP_EXPORT void operator delete[](void *p, std::size_t) noexcept { free(p); }
HP_EXPORT void operator delete(void *p, std::align_val_t) noexcept { free(p); }
HP_EXPORT void operator delete[](void *p, std::align_val_t) noexcept { free(p); }
HP_EXPORT void operator delete(void *p, std::size_t, std::align_val_t) noexcept { free(p); }
HP_EXPORT void operator delete[](void *p, std::size_t, std::align_val_t) noexcept { free(p); }
HP_EXPORT void operator delete(void *p, std::align_val_t, const std::nothrow_t &) noexcept {
    free(p);
}
HP_EXPORT void operator delete[](void *p, std::align_val_t, const std::nothrow_t &) noexcept {
    free(p);
}
