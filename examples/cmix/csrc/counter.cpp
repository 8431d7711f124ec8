// A C++ thread_local with a non-trivial destructor: the compiler registers it through
// __cxa_thread_atexit(_impl), one of the symbols that break naive manylinux2014 builds.
#include <cstdint>
#include <string>
#include <thread>

namespace {

struct Tally {
    std::string marks;
    ~Tally() { marks.clear(); }
};

thread_local Tally tally;

}  // namespace

extern "C" int64_t cmix_thread_local_counter(int64_t times) {
    int64_t result = 0;
    std::thread worker([&result, times] {
        for (int64_t i = 0; i < times; i++) {
            tally.marks.push_back('x');
        }
        result = static_cast<int64_t>(tally.marks.size());
    });
    worker.join();
    return result;
}
