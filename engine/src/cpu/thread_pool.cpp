#include "thread_pool.h"

#include <fstream>
#include <set>
#include <string>
#include <utility>

namespace phidesk {

ThreadPool::ThreadPool(int threads) {
    for (int i = 1; i < std::max(threads, 1); ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
}

void ThreadPool::run_range(int index) {
    const int64_t parts = size();
    const int64_t begin = n_ * index / parts, end = n_ * (index + 1) / parts;
    if (begin < end) task_(ctx_, begin, end, index);
}

void ThreadPool::run(int64_t n, Task task, void* ctx) {
    if (workers_.empty() || n <= 1) {
        if (n > 0) task(ctx, 0, n, 0);
        return;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        task_ = task, ctx_ = ctx, n_ = n;
        pending_ = int(workers_.size());
        ++generation_;
    }
    wake_.notify_all();
    run_range(0);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
}

void ThreadPool::worker(int index) {
    uint64_t seen = 0;
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
            if (stop_) return;
            seen = generation_;
        }
        run_range(index);
        std::lock_guard<std::mutex> lock(mutex_);
        if (--pending_ == 0) done_.notify_one();
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
