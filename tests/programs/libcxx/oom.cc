// Operator new failure in a program whose C++ runtime is LLVM's libc++ (no
// libstdc++ in the process): heapprof's operators must still throw through
// libc++'s std::bad_alloc and run libc++'s new-handler. Built by
// tests/integration/cxx_libcxx.sh against libc++ only; libc++'s headers are
// not needed (the few declarations are spelled out).
extern "C" int printf(const char *, ...);
typedef decltype(sizeof 0) size_t;
void *operator new(size_t);
namespace std {
struct nothrow_t;
extern const nothrow_t nothrow;
typedef void (*new_handler)();
new_handler set_new_handler(new_handler) noexcept;
} // namespace std
void *operator new(size_t, const std::nothrow_t &) noexcept;

static const size_t huge = (size_t)1 << 62;
static int calls;
static void returning_handler() {
    if (++calls == 3) std::set_new_handler(nullptr); // the third failure then throws
}
static void throwing_handler() { throw 42; }

int main() {
    int failures = 0;
    bool threw = false;
    try {
        ::operator new(huge);
    } catch (...) {
        threw = true;
    }
    if (!threw) printf("FAIL: new(huge) did not throw\n"), failures++;

    if (::operator new(huge, std::nothrow) != nullptr) printf("FAIL: nothrow new(huge)\n"), failures++;

    std::set_new_handler(returning_handler);
    threw = false;
    try {
        ::operator new(huge);
    } catch (...) {
        threw = true;
    }
    if (!threw || calls != 3) printf("FAIL: handler called %d times, threw %d\n", calls, threw), failures++;

    std::set_new_handler(throwing_handler);
    if (::operator new(huge, std::nothrow) != nullptr)
        printf("FAIL: nothrow new with a throwing handler\n"), failures++;
    std::set_new_handler(nullptr);
    printf("%d failures\n", failures);
    return failures;
}
