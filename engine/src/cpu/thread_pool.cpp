#include "thread_pool.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <utility>

namespace phidesk {

ThreadPool::ThreadPool(int threads) {
    for (int i = 1; i < std::max(threads, 1); ++i) workers_.emplace_back([this, i] { worker(i); });
}

namespace {

// A few microseconds to a millisecond of polling (PAUSE takes 10-140 cycles): long enough to bridge the gap between two operations of
// one forward pass, short enough not to burn a core while the model is idle.
constexpr int kSpins = 5000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

}  // namespace

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_.store(true, std::memory_order_relaxed);   // published by the generation bump
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
}

// Threads take chunks in turn, each a share of what is left (guided scheduling): large while
// much remains, single items at the end, so that the threads finish together even when one is
// slowed by the rest of the machine (or a busier part of the range).
void ThreadPool::run_range(int index) {
    if (n_ <= size()) {   // one item per thread, each on its own thread (the FMA benchmark relies on it)
        if (index < n_) task_(ctx_, index, index + 1, index);
        return;
    }
    const int64_t parts = 4 * int64_t(size());
    int64_t begin = next_.load(std::memory_order_relaxed);
    while (begin < n_) {
        const int64_t end = begin + std::max<int64_t>(1, (n_ - begin) / parts);
        if (next_.compare_exchange_weak(begin, end, std::memory_order_relaxed)) {
            task_(ctx_, begin, end, index);
            begin = next_.load(std::memory_order_relaxed);
        }
    }
}

void ThreadPool::run(int64_t n, Task task, void* ctx) {
    if (workers_.empty() || n <= 1) {
        if (n > 0) task(ctx, 0, n, 0);
        return;
    }
    task_ = task, ctx_ = ctx, n_ = n;
    next_.store(0, std::memory_order_relaxed);
    pending_.store(int(workers_.size()), std::memory_order_relaxed);
    {
        std::lock_guard<std::mutex> lock(mutex_);   // a worker about to sleep sees the new generation
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    run_range(0);
    for (int i = 0; i < kSpins; ++i) {
        if (pending_.load(std::memory_order_acquire) == 0) return;
        cpu_relax();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
}

void ThreadPool::worker(int index) {
    uint64_t seen = 0;
    for (;;) {
        bool ready = false;
        for (int i = 0; i < kSpins && !ready; ++i) {
            ready = generation_.load(std::memory_order_acquire) != seen;
            if (!ready) cpu_relax();
        }
        if (!ready) {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        }
        seen = generation_.load(std::memory_order_acquire);
        if (stop_.load(std::memory_order_relaxed)) return;
        run_range(index);
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard<std::mutex> lock(mutex_);
            done_.notify_one();
        }
    }
}

int physical_core_count() {
    // Unique (package, core) pairs from sysfs; SMT siblings share one.
    std::set<std::pair<std::string, std::string>> cores;
    const unsigned logical = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned cpu = 0; cpu < logical; ++cpu) {
        const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
        std::ifstream pkg(base + "physical_package_id"), core(base + "core_id");
        std::string p, c;
        if (!(pkg >> p) || !(core >> c)) return int(logical);
        cores.emplace(p, c);
    }
    return cores.empty() ? int(logical) : int(cores.size());
}

}  // namespace phidesk
