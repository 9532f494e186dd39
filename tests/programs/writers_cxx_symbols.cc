// C++ allocation sites whose names the profile writers must demangle
// (tests/integration/symbolize_cxx.sh builds this with -O2 -g):
//
//   ns::Klass::method(int)               new char[] from a member function
//   ns::Klass::factory(unsigned long)    new from a static member function
//   ns::make_array<double>(...)          new double[] from a function template
//   (anonymous namespace)::anon_alloc(unsigned long)   operator new directly
//   ns::static_alloc(unsigned long)      a static (internal linkage) function
//
// Each site allocates a distinctive number of bytes (100 blocks each of
// 1100, 2200, 8 * 410, 4400 and 5500 bytes) so a test can find its program
// point by total bytes. The last two have internal linkage, so GCC gives
// them no DW_AT_linkage_name in DWARF. All blocks stay alive until exit. Prints "done".
#include <cstddef>
#include <cstdio>
#include <new>
#include <vector>

static void *volatile sink;

namespace ns {
struct Klass {
    int salt = 1;
    __attribute__((noinline)) void *method(int n);
    __attribute__((noinline)) static Klass *factory(std::size_t extra);
    char pad[2200 - sizeof(int)];
};

void *Klass::method(int n) {
    char *p = new char[static_cast<std::size_t>(n)];
    p[0] = static_cast<char>(salt);
    sink = p;
    return p;
}

Klass *Klass::factory(std::size_t extra) {
    Klass *k = new Klass;
    k->salt = static_cast<int>(extra);
    sink = k;
    return k;
}

template <typename T> __attribute__((noinline)) T *make_array(std::size_t n) {
    T *p = new T[n];
    sink = p;
    return p;
}
template double *make_array<double>(std::size_t);

static __attribute__((noinline)) void *static_alloc(std::size_t n) {
    void *p = ::operator new(n);
    static_cast<char *>(p)[1] = 7; // not the same code as anon_alloc (GCC would fold them)
    sink = p;
    return p;
}
void *(*volatile static_alloc_ptr)(std::size_t) = static_alloc; // keep it out of line
} // namespace ns

namespace {
__attribute__((noinline)) void *anon_alloc(std::size_t n) {
    void *p = ::operator new(n);
    sink = p;
    return p;
}
} // namespace

int main() {
    static void *kept[500];
    int k = 0;
    ns::Klass *obj = ns::Klass::factory(0);
    for (int i = 0; i < 100; i++) kept[k++] = obj->method(1100);
    for (int i = 1; i < 100; i++) kept[k++] = ns::Klass::factory(static_cast<std::size_t>(i));
    for (int i = 0; i < 100; i++) kept[k++] = ns::make_array<double>(410);
    for (int i = 0; i < 100; i++) kept[k++] = anon_alloc(4400);
    for (int i = 0; i < 100; i++) kept[k++] = ns::static_alloc(5500);
    std::fputs("done\n", stdout);
    return kept[0] == nullptr;
}
