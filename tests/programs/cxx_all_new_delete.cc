// Every form of C++ operator new/delete (plain, array, sized, nothrow,
// aligned for alignas(64) and alignas(4096) types, their array and nothrow
// variants, explicit operator calls), the standard containers, and threads.
// Prints a checksum of the contents (never of addresses) and one line per
// check, so a run under heapprof must print exactly what a plain run prints.
// Exit status 0 when every check held, 1 otherwise.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <new>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

static uint64_t sum = 1469598103934665603ull;
static int failures;

static void mix(uint64_t v) {
    sum ^= v;
    sum *= 1099511628211ull;
}
static void mix_bytes(const void *p, size_t n) {
    const unsigned char *c = static_cast<const unsigned char *>(p);
    for (size_t i = 0; i < n; i++) mix(c[i]);
}
static void check(bool ok, const char *what) {
    if (!ok) {
        failures++;
        printf("FAILED: %s\n", what);
    }
}
static bool aligned(const void *p, size_t a) { return reinterpret_cast<uintptr_t>(p) % a == 0; }

struct Plain {
    int a[5];
    Plain() { for (int i = 0; i < 5; i++) a[i] = i * 3; }
};
struct alignas(64) Line {
    char bytes[100];
    Line() { memset(bytes, 0x5a, sizeof bytes); }
};
struct alignas(4096) PageObj {
    long words[700];
    PageObj() { for (int i = 0; i < 700; i++) words[i] = i; }
};
// A class with its own destructor so new[] stores a cookie.
struct WithDtor {
    std::string s;
    explicit WithDtor(int i = 7) : s(std::to_string(i) + "-with-dtor-and-a-long-enough-string") {}
    ~WithDtor() { mix(s.size()); }
};
struct alignas(64) AlignedDtor {
    double d[3];
    AlignedDtor() : d{1.5, 2.5, 3.5} {}
    ~AlignedDtor() { mix(static_cast<uint64_t>(d[0] + d[1] + d[2])); }
};

static void new_delete_forms() {
    // new / delete, new[] / delete[] (sized delete for complete types)
    for (int round = 0; round < 200; round++) {
        Plain *p = new Plain;
        mix_bytes(p->a, sizeof p->a);
        delete p;
        int *arr = new int[round + 1];
        for (int i = 0; i <= round; i++) arr[i] = i * round;
        mix(static_cast<uint64_t>(arr[round]));
        delete[] arr;
        WithDtor *w = new WithDtor[3];
        mix(w[2].s.size());
        delete[] w;
        WithDtor *one = new WithDtor(round);
        delete one;
    }
    // nothrow forms
    Plain *pn = new (std::nothrow) Plain;
    check(pn != nullptr, "new (nothrow) Plain");
    mix_bytes(pn->a, sizeof pn->a);
    delete pn;
    char *cn = new (std::nothrow) char[4000];
    check(cn != nullptr, "new (nothrow) char[]");
    memset(cn, 1, 4000);
    mix(static_cast<uint64_t>(cn[3999]));
    delete[] cn;

    // explicit operator calls: plain, sized, nothrow, array
    void *r = ::operator new(123);
    memset(r, 2, 123);
    ::operator delete(r);
    r = ::operator new(456);
    ::operator delete(r, 456);
    r = ::operator new(789, std::nothrow);
    check(r != nullptr, "operator new(nothrow)");
    ::operator delete(r, std::nothrow);
    r = ::operator new[](1000);
    ::operator delete[](r);
    r = ::operator new[](1001);
    ::operator delete[](r, 1001);
    r = ::operator new[](1002, std::nothrow);
    check(r != nullptr, "operator new[](nothrow)");
    ::operator delete[](r, std::nothrow);

    // aligned types: new/delete, arrays, nothrow
    for (int round = 0; round < 50; round++) {
        Line *l = new Line;
        check(aligned(l, 64), "new alignas(64)");
        mix_bytes(l->bytes, sizeof l->bytes);
        delete l;
        Line *ls = new Line[round + 1];
        check(aligned(ls, 64), "new alignas(64)[]");
        mix(static_cast<uint64_t>(ls[round].bytes[99]));
        delete[] ls;
        PageObj *pg = new PageObj;
        check(aligned(pg, 4096), "new alignas(4096)");
        mix(static_cast<uint64_t>(pg->words[699]));
        delete pg;
        PageObj *pgs = new PageObj[2];
        check(aligned(pgs, 4096), "new alignas(4096)[]");
        mix(static_cast<uint64_t>(pgs[1].words[10]));
        delete[] pgs;
        AlignedDtor *ad = new AlignedDtor[round % 4 + 1];
        check(aligned(ad, 64), "new alignas(64) with dtor []");
        delete[] ad;
    }
    Line *ln = new (std::nothrow) Line;
    check(ln && aligned(ln, 64), "new (nothrow) alignas(64)");
    delete ln;
    PageObj *pn2 = new (std::nothrow) PageObj[3];
    check(pn2 && aligned(pn2, 4096), "new (nothrow) alignas(4096)[]");
    delete[] pn2;

    // explicit aligned operator calls, every delete variant
    const std::align_val_t a64{64}, a4k{4096}, a256k{262144};
    void *q = ::operator new(100, a64);
    check(aligned(q, 64), "operator new(align 64)");
    ::operator delete(q, a64);
    q = ::operator new(5000, a4k);
    check(aligned(q, 4096), "operator new(align 4096)");
    ::operator delete(q, 5000, a4k);
    q = ::operator new(3, a256k);
    check(aligned(q, 262144), "operator new(align 256 KiB)");
    ::operator delete(q, a256k);
    q = ::operator new(77, a64, std::nothrow);
    check(q && aligned(q, 64), "operator new(align 64, nothrow)");
    ::operator delete(q, a64, std::nothrow);
    q = ::operator new[](640, a64);
    check(aligned(q, 64), "operator new[](align 64)");
    ::operator delete[](q, a64);
    q = ::operator new[](8192, a4k);
    check(aligned(q, 4096), "operator new[](align 4096)");
    ::operator delete[](q, 8192, a4k);
    q = ::operator new[](9, a4k, std::nothrow);
    check(q && aligned(q, 4096), "operator new[](align 4096, nothrow)");
    ::operator delete[](q, a4k, std::nothrow);

    // zero-size requests give distinct non-null pointers
    void *z1 = ::operator new(0), *z2 = ::operator new(0);
    check(z1 && z2 && z1 != z2, "operator new(0) distinct");
    ::operator delete(z1);
    ::operator delete(z2);

    // failure: throwing forms throw bad_alloc, nothrow forms return null
    volatile size_t huge = SIZE_MAX / 2;
    try {
        char *never = new char[huge];
        check(false, "new char[huge] threw");
        delete[] never;
    } catch (const std::bad_alloc &) {
        printf("bad_alloc for new[] of %zu bytes\n", static_cast<size_t>(huge));
    }
    try {
        void *never = ::operator new(huge, a4k);
        check(false, "aligned operator new(huge) threw");
        ::operator delete(never, a4k);
    } catch (const std::bad_alloc &) {
        printf("bad_alloc for aligned operator new\n");
    }
    check(::operator new(huge, std::nothrow) == nullptr, "nothrow new(huge) is null");
    check(::operator new[](huge, a64, std::nothrow) == nullptr, "nothrow aligned new[](huge) is null");
    printf("new/delete forms: checksum %016llx\n", static_cast<unsigned long long>(sum));
}

static uint64_t container_work(int seed) {
    uint64_t h = 14695981039346656037ull;
    auto add = [&h](uint64_t v) { h = (h ^ v) * 1099511628211ull; };
    std::map<std::string, std::vector<int>> m;
    std::unordered_map<int, std::string> um;
    std::set<long> s;
    std::list<std::string> l;
    for (int i = 0; i < 20000; i++) {
        std::string key = "k" + std::to_string((i * 7919 + seed) % 1013);
        m[key].push_back(i);
        um[i % 977] += static_cast<char>('a' + (i + seed) % 26);
        s.insert(static_cast<long>(i) * seed % 4099);
        if (i % 10 == 0) l.push_back(key + key);
        if (l.size() > 300) l.pop_front();
    }
    for (auto &kv : m) {
        add(kv.first.size());
        add(kv.second.size());
        add(static_cast<uint64_t>(kv.second.back()));
    }
    std::vector<std::pair<int, std::string>> sorted(um.begin(), um.end());
    std::sort(sorted.begin(), sorted.end());
    for (auto &kv : sorted) add(std::hash<std::string>{}(kv.second) ^ static_cast<uint64_t>(kv.first));
    for (long v : s) add(static_cast<uint64_t>(v));
    for (auto &x : l) add(x.size());
    auto sp = std::make_shared<std::vector<std::string>>(100, std::string(50, 'x'));
    auto up = std::make_unique<Line[]>(8);
    std::vector<Line> lines(17);
    std::vector<PageObj> pages(2);
    if (!aligned(up.get(), 64) || !aligned(lines.data(), 64) || !aligned(pages.data(), 4096)) add(0xbad);
    add(sp->size() + static_cast<uint64_t>(pages[1].words[5]));
    std::string big;
    for (int i = 0; i < 5000; i++) big += std::to_string(i);
    big.shrink_to_fit();
    add(big.size());
    return h;
}

int main() {
    new_delete_forms();

    uint64_t single = container_work(1);
    printf("containers: %016llx\n", static_cast<unsigned long long>(single));

    // threads: each allocates and frees on its own, and frees blocks another
    // thread allocated (handed over through a vector filled before start)
    const int nthreads = 4;
    std::vector<uint64_t> results(nthreads);
    std::vector<std::vector<std::string *>> handed(nthreads);
    for (int t = 0; t < nthreads; t++)
        for (int i = 0; i < 2000; i++) handed[t].push_back(new std::string(64 + i % 100, 'a' + t));
    std::atomic<uint64_t> freed_chars{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < nthreads; t++) {
        threads.emplace_back([t, &results, &handed, &freed_chars] {
            results[t] = container_work(t + 2);
            uint64_t n = 0;
            for (std::string *s : handed[(t + 1) % nthreads]) {
                n += s->size();
                delete s;
            }
            Line *l = new Line[7];
            if (!aligned(l, 64)) n += 1000000007;
            delete[] l;
            freed_chars += n;
        });
    }
    for (auto &th : threads) th.join();
    for (int t = 0; t < nthreads; t++)
        printf("thread %d: %016llx\n", t, static_cast<unsigned long long>(results[t]));
    printf("freed across threads: %llu chars\n", static_cast<unsigned long long>(freed_chars.load()));
    printf("checks failed: %d\n", failures);
    return failures ? 1 : 0;
}
