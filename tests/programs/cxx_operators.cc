// Every replaceable C++ operator new/delete of alloc/cxx_operators.cc, called
// directly and through new-expressions, checked against the language rules
// ([new.delete]) and against heapprof's exact counters: each call must move
// live/alloc/freed bytes by exactly malloc_usable_size of the block.
//
// Run under LD_PRELOAD=libheapprof.so by tests/integration/cxx_operators.sh.
// Exit status 0 when every check held.
#include "check.h"
#include "heapprof.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <malloc.h>
#include <new>
#include <sys/resource.h>
#include <unistd.h>

namespace {

// Sizes the compiler cannot see (so it neither folds nor warns).
volatile std::size_t v_huge = SIZE_MAX - 4096;
volatile std::size_t v_half = SIZE_MAX / 2;

heapprof_stats_t base;

heapprof_stats_t now() {
    heapprof_stats_t s;
    std::memset(&s, 0, sizeof s);
    CHECK(heapprof_stats(&s, sizeof s) == 0);
    return s;
}

void mark() { base = now(); }

void cmp(int line, const char *what, uint64_t after, uint64_t before, int64_t want) {
    int64_t got = static_cast<int64_t>(after - before);
    if (got != want) {
        std::fprintf(stderr, "%s:%d: counter delta %s: got %lld, want %lld\n", __FILE__, line,
                     what, static_cast<long long>(got), static_cast<long long>(want));
        check_failures++;
    }
}

void expect(int line, int64_t live_b, int64_t live_o, int64_t alloc_b, int64_t alloc_o,
            int64_t freed_b, int64_t freed_o) {
    heapprof_stats_t s = now();
    cmp(line, "live_bytes", s.live_bytes, base.live_bytes, live_b);
    cmp(line, "live_objects", s.live_objects, base.live_objects, live_o);
    cmp(line, "alloc_bytes", s.alloc_bytes, base.alloc_bytes, alloc_b);
    cmp(line, "alloc_objects", s.alloc_objects, base.alloc_objects, alloc_o);
    cmp(line, "freed_bytes", s.freed_bytes, base.freed_bytes, freed_b);
    cmp(line, "freed_objects", s.freed_objects, base.freed_objects, freed_o);
    base = s;
}

#define EXPECT_ALLOC(u) expect(__LINE__, (int64_t)(u), 1, (int64_t)(u), 1, 0, 0)
#define EXPECT_FREE(u) expect(__LINE__, -(int64_t)(u), -1, 0, 0, (int64_t)(u), 1)
#define EXPECT_NOTHING() expect(__LINE__, 0, 0, 0, 0, 0, 0)

bool aligned_to(const void *p, std::size_t a) {
    return (reinterpret_cast<uintptr_t>(p) & (a - 1)) == 0;
}

void touch(void *p, std::size_t n) {
    if (n <= (1u << 20)) {
        std::memset(p, 0x5a, n);
    } else {
        static_cast<volatile char *>(p)[0] = 1;
        static_cast<volatile char *>(p)[n - 1] = 1;
    }
}

// One allocation function and its matching deallocation, as a test case.
struct Variant {
    const char *name;
    std::size_t align;   // 0: not an aligned variant
    bool nothrow;
    void *(*alloc)(std::size_t n, std::size_t align);
    void (*dealloc)(void *p, std::size_t n, std::size_t align);
};

using std::align_val_t;
using std::nothrow;

// clang-format off
const Variant variants[] = {
    {"new/delete", 0, false,
     [](std::size_t n, std::size_t) { return ::operator new(n); },
     [](void *p, std::size_t, std::size_t) { ::operator delete(p); }},
    {"new[]/delete[]", 0, false,
     [](std::size_t n, std::size_t) { return ::operator new[](n); },
     [](void *p, std::size_t, std::size_t) { ::operator delete[](p); }},
    {"new/sized delete", 0, false,
     [](std::size_t n, std::size_t) { return ::operator new(n); },
     [](void *p, std::size_t n, std::size_t) { ::operator delete(p, n); }},
    {"new[]/sized delete[]", 0, false,
     [](std::size_t n, std::size_t) { return ::operator new[](n); },
     [](void *p, std::size_t n, std::size_t) { ::operator delete[](p, n); }},
    {"nothrow new/delete", 0, true,
     [](std::size_t n, std::size_t) { return ::operator new(n, nothrow); },
     [](void *p, std::size_t, std::size_t) { ::operator delete(p); }},
    {"nothrow new/nothrow delete", 0, true,
     [](std::size_t n, std::size_t) { return ::operator new(n, nothrow); },
     [](void *p, std::size_t, std::size_t) { ::operator delete(p, nothrow); }},
    {"nothrow new[]/nothrow delete[]", 0, true,
     [](std::size_t n, std::size_t) { return ::operator new[](n, nothrow); },
     [](void *p, std::size_t, std::size_t) { ::operator delete[](p, nothrow); }},
    {"aligned new/aligned delete", 1, false,
     [](std::size_t n, std::size_t a) { return ::operator new(n, align_val_t(a)); },
     [](void *p, std::size_t, std::size_t a) { ::operator delete(p, align_val_t(a)); }},
    {"aligned new[]/aligned delete[]", 1, false,
     [](std::size_t n, std::size_t a) { return ::operator new[](n, align_val_t(a)); },
     [](void *p, std::size_t, std::size_t a) { ::operator delete[](p, align_val_t(a)); }},
    {"aligned new/sized aligned delete", 1, false,
     [](std::size_t n, std::size_t a) { return ::operator new(n, align_val_t(a)); },
     [](void *p, std::size_t n, std::size_t a) { ::operator delete(p, n, align_val_t(a)); }},
    {"aligned new[]/sized aligned delete[]", 1, false,
     [](std::size_t n, std::size_t a) { return ::operator new[](n, align_val_t(a)); },
     [](void *p, std::size_t n, std::size_t a) { ::operator delete[](p, n, align_val_t(a)); }},
    {"aligned nothrow new/aligned nothrow delete", 1, true,
     [](std::size_t n, std::size_t a) { return ::operator new(n, align_val_t(a), nothrow); },
     [](void *p, std::size_t, std::size_t a) { ::operator delete(p, align_val_t(a), nothrow); }},
    {"aligned nothrow new[]/aligned nothrow delete[]", 1, true,
     [](std::size_t n, std::size_t a) { return ::operator new[](n, align_val_t(a), nothrow); },
     [](void *p, std::size_t, std::size_t a) { ::operator delete[](p, align_val_t(a), nothrow); }},
    {"aligned nothrow new/aligned delete", 1, true,
     [](std::size_t n, std::size_t a) { return ::operator new(n, align_val_t(a), nothrow); },
     [](void *p, std::size_t, std::size_t a) { ::operator delete(p, align_val_t(a)); }},
};
// clang-format on

const std::size_t sizes[] = {0, 1, 8, 24, 100, 256, 512, 1000, 1024, 4096, 5000,
                             65536, 300000, 1u << 20, 5u << 20, 40u << 20};
const std::size_t aligns[] = {16, 32, 64, 128, 256, 512, 1024, 4096, 65536, 1u << 21, 1u << 26};

void test_variants() {
    for (const Variant &v : variants) {
        const std::size_t *al = v.align ? aligns : nullptr;
        std::size_t nal = v.align ? sizeof aligns / sizeof *aligns : 1;
        for (std::size_t ai = 0; ai < nal; ai++) {
            std::size_t a = al ? al[ai] : 0;
            for (std::size_t n : sizes) {
                mark();
                void *p = v.alloc(n, a);
                if (!p) {
                    std::fprintf(stderr, "%s(size %zu, align %zu) returned null\n", v.name, n, a);
                    check_failures++;
                    continue;
                }
                std::size_t u = malloc_usable_size(p);
                EXPECT_ALLOC(u);
                CHECK(u >= n);
                // plain new: aligned for any fundamental type that fits
                std::size_t want = a ? a : (n >= 16 ? 16 : n >= 8 ? 8 : 1);
                if (!aligned_to(p, want)) {
                    std::fprintf(stderr, "%s(size %zu, align %zu) = %p is not %zu-aligned\n",
                                 v.name, n, a, p, want);
                    check_failures++;
                }
                touch(p, u);
                v.dealloc(p, n, a);
                EXPECT_FREE(u);
            }
        }
    }
}

// new(0) of every variant: distinct non-null pointers, each counted.
void test_zero_size() {
    enum { K = 16 };
    for (const Variant &v : variants) {
        void *p[K];
        std::size_t sum = 0;
        std::size_t a = v.align ? 64 : 0;
        mark();
        for (int i = 0; i < K; i++) {
            p[i] = v.alloc(0, a);
            CHECK(p[i] != nullptr);
            if (p[i]) sum += malloc_usable_size(p[i]);
            for (int j = 0; j < i; j++) CHECK(p[i] != p[j]);
        }
        expect(__LINE__, (int64_t)sum, K, (int64_t)sum, K, 0, 0);
        for (int i = 0; i < K; i++) v.dealloc(p[i], 0, a);
        expect(__LINE__, -(int64_t)sum, -K, 0, 0, (int64_t)sum, K);
    }
}

// Impossible sizes: the throwing forms throw std::bad_alloc, the nothrow
// forms return nullptr, and nothing is counted.
void test_failure() {
    std::set_new_handler(nullptr);
    // Throwing allocates the exception object (__cxa_allocate_exception) and
    // frees it after the catch: measure what one thrown bad_alloc costs, and
    // require exactly that of every failing throwing form.
    mark();
    try {
        throw std::bad_alloc();
    } catch (const std::bad_alloc &) {
    }
    heapprof_stats_t after = now();
    const int64_t exc_bytes = (int64_t)(after.alloc_bytes - base.alloc_bytes);
    const int64_t exc_objs = (int64_t)(after.alloc_objects - base.alloc_objects);
    CHECK_EQ_U64(after.live_bytes, base.live_bytes);
    CHECK_EQ_U64(after.freed_objects - base.freed_objects, (uint64_t)exc_objs);
    for (const Variant &v : variants) {
        std::size_t a = v.align ? 4096 : 0;
        for (std::size_t n : {(std::size_t)v_huge, (std::size_t)v_half, (std::size_t)SIZE_MAX}) {
            mark();
            bool threw = false;
            void *p = reinterpret_cast<void *>(1);
            try {
                p = v.alloc(n, a);
            } catch (const std::bad_alloc &) {
                threw = true;
            } catch (...) {
                std::fprintf(stderr, "%s(%zu): threw something other than bad_alloc\n", v.name, n);
                check_failures++;
            }
            if (v.nothrow) {
                if (threw || p != nullptr) {
                    std::fprintf(stderr, "%s(%zu): threw %d, returned %p; want nullptr\n", v.name,
                                 n, threw, p);
                    check_failures++;
                }
            } else if (!threw) {
                std::fprintf(stderr, "%s(%zu): did not throw std::bad_alloc\n", v.name, n);
                check_failures++;
            }
            if (threw) expect(__LINE__, 0, 0, exc_bytes, exc_objs, exc_bytes, exc_objs);
            else EXPECT_NOTHING();
        }
    }
    // A new-expression with a huge array length throws a bad_alloc too.
    bool threw = false;
    try {
        volatile std::size_t count = v_half;
        char *p = new char[count];
        delete[] p;
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    CHECK(threw);
}

// --- new_handler ---------------------------------------------------------

int handler_calls;

void counting_handler() {
    // Returns twice (operator new must retry), then uninstalls itself so
    // the third failure throws.
    if (++handler_calls >= 3) std::set_new_handler(nullptr);
}

struct handler_error : std::bad_alloc {
    const char *what() const noexcept override { return "handler_error"; }
};

void throwing_handler() {
    handler_calls++;
    throw handler_error();
}

void *reserve;

void releasing_handler() {
    handler_calls++;
    std::free(reserve); // frees the reserve: the retry can now succeed
    reserve = nullptr;
    std::set_new_handler(nullptr);
}

void test_new_handler() {
    // A handler that returns is called again after each failed retry.
    for (int nt = 0; nt < 2; nt++) {
        handler_calls = 0;
        std::set_new_handler(counting_handler);
        bool threw = false;
        void *p = nullptr;
        try {
            p = nt ? ::operator new(v_huge, nothrow) : ::operator new(v_huge);
        } catch (const std::bad_alloc &) {
            threw = true;
        }
        CHECK(p == nullptr);
        CHECK(threw == !nt);
        CHECK_EQ_U64(handler_calls, 3);
        CHECK(std::get_new_handler() == nullptr);
    }
    // The same for an aligned form.
    handler_calls = 0;
    std::set_new_handler(counting_handler);
    try {
        void *p = ::operator new[](v_huge, align_val_t(256));
        ::operator delete[](p, align_val_t(256));
        CHECK(!"aligned new[] of a huge size returned");
    } catch (const std::bad_alloc &) {
    }
    CHECK_EQ_U64(handler_calls, 3);

    // A handler that throws: the exception propagates out of operator new,
    // and the nothrow forms turn it into nullptr.
    for (int form = 0; form < 4; form++) {
        handler_calls = 0;
        std::set_new_handler(throwing_handler);
        bool got = false;
        void *p = nullptr;
        try {
            switch (form) {
            case 0: p = ::operator new(v_huge); break;
            case 1: p = ::operator new[](v_huge, align_val_t(64)); break;
            case 2: p = ::operator new(v_huge, nothrow); break;
            default: p = ::operator new(v_huge, align_val_t(64), nothrow); break;
            }
        } catch (const handler_error &) {
            got = true;
        } catch (...) {
            std::fprintf(stderr, "handler form %d: wrong exception type\n", form);
            check_failures++;
        }
        CHECK(p == nullptr);
        CHECK(got == (form < 2));
        CHECK_EQ_U64(handler_calls, 1);
    }
    std::set_new_handler(nullptr);

    // A handler that frees a reserve makes the retry succeed. Limit the
    // address space so that the request fails while the reserve is held.
    struct rlimit old;
    CHECK(getrlimit(RLIMIT_AS, &old) == 0);
    long pages = 0, resident = 0;
    FILE *f = std::fopen("/proc/self/statm", "r");
    CHECK(f != nullptr);
    if (f) {
        CHECK(std::fscanf(f, "%ld %ld", &pages, &resident) == 2);
        std::fclose(f);
    }
    const std::size_t chunk = 256u << 20;
    std::size_t vm = (std::size_t)pages * (std::size_t)sysconf(_SC_PAGESIZE);
    struct rlimit lim = old;
    lim.rlim_cur = vm + chunk + chunk / 2; // room for one chunk, not two
    if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < lim.rlim_cur) lim.rlim_cur = old.rlim_cur;
    CHECK(setrlimit(RLIMIT_AS, &lim) == 0);
    reserve = std::malloc(chunk);
    CHECK(reserve != nullptr);
    std::size_t reserve_u = malloc_usable_size(reserve);
    // without the handler the request fails (else the test proves nothing)
    void *probe = ::operator new(chunk, nothrow);
    CHECK(probe == nullptr);
    handler_calls = 0;
    std::set_new_handler(releasing_handler);
    mark();
    void *p = nullptr;
    try {
        p = ::operator new(chunk);
    } catch (const std::bad_alloc &) {
        std::fprintf(stderr, "operator new threw although the handler freed the reserve\n");
        check_failures++;
    }
    CHECK(p != nullptr);
    CHECK_EQ_U64(handler_calls, 1);
    CHECK(reserve == nullptr);
    if (p) {
        std::size_t u = malloc_usable_size(p);
        CHECK(u >= chunk);
        expect(__LINE__, (int64_t)u - (int64_t)reserve_u, 0, (int64_t)u, 1, (int64_t)reserve_u, 1);
        ::operator delete(p, chunk);
        EXPECT_FREE(u);
    }
    std::set_new_handler(nullptr);
    CHECK(setrlimit(RLIMIT_AS, &old) == 0);
}

// --- new-expressions -------------------------------------------------------

struct alignas(64) Line { char b[64]; };
struct alignas(256) Block256 { char b[256]; };
struct alignas(1024) Block1k { char b[1024]; };
struct alignas(4096) Page { char b[4096]; };
struct alignas(1u << 21) HugePage { char b[100]; };

struct Counted {
    static int live;
    long v[5];
    Counted() { live++; }
    ~Counted() { live--; }
};
int Counted::live;

template <typename T> void one_type(const char *name) {
    mark();
    T *p = new T;
    std::size_t u = malloc_usable_size(p);
    EXPECT_ALLOC(u);
    if (!aligned_to(p, alignof(T))) {
        std::fprintf(stderr, "new %s = %p is not %zu-aligned\n", name, (void *)p, alignof(T));
        check_failures++;
    }
    delete p;
    EXPECT_FREE(u);
    T *a = new T[3];
    u = malloc_usable_size(a); // trivially destructible: no array cookie
    EXPECT_ALLOC(u);
    for (int i = 0; i < 3; i++) {
        if (!aligned_to(&a[i], alignof(T))) {
            std::fprintf(stderr, "new %s[3]: element %d at %p is not %zu-aligned\n", name, i,
                         (void *)&a[i], alignof(T));
            check_failures++;
        }
    }
    delete[] a;
    EXPECT_FREE(u);
    T *n = new (nothrow) T;
    CHECK(n != nullptr);
    CHECK(aligned_to(n, alignof(T)));
    u = malloc_usable_size(n);
    EXPECT_ALLOC(u);
    delete n;
    EXPECT_FREE(u);
}

void test_expressions() {
    one_type<Line>("Line");
    one_type<Block256>("Block256");
    one_type<Block1k>("Block1k");
    one_type<Page>("Page");
    one_type<HugePage>("HugePage");
    one_type<long double>("long double");

    // An array of a type with a destructor carries a cookie: the block
    // starts before the returned pointer, and delete[] must free all of it.
    mark();
    Counted *c = new Counted[7];
    CHECK(Counted::live == 7);
    heapprof_stats_t s = now();
    CHECK_EQ_U64(s.live_objects - base.live_objects, 1);
    CHECK(s.live_bytes - base.live_bytes >= 7 * sizeof(Counted));
    delete[] c;
    CHECK(Counted::live == 0);
    s = now();
    CHECK_EQ_U64(s.live_objects, base.live_objects);
    CHECK_EQ_U64(s.live_bytes, base.live_bytes);
}

} // namespace

int main() {
    if (!heapprof_available()) {
        std::fprintf(stderr, "libheapprof.so is not preloaded\n");
        return 1;
    }
    test_variants();
    test_zero_size();
    test_failure();
    test_new_handler();
    test_expressions();
    int rc = CHECK_DONE();
    std::printf("cxx_operators: %d failed checks\n", check_failures);
    return rc;
}
