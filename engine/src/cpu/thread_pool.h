// A persistent pool of worker threads: created once per backend, woken per operation, so a
// decode step creates no threads and allocates nothing. Workers spin briefly before sleeping,
// because a forward pass issues hundreds of short operations back to back.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "phidesk/machine_bench.h"   // physical_core_count

namespace phidesk {

class ThreadPool {
public:
    explicit ThreadPool(int threads);  // the calling thread is one of them
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return int(workers_.size()) + 1; }

    // Runs fn(begin, end, thread) over contiguous chunks covering [0, n), the threads (the caller
    // among them) taking chunks in turn, so one thread may run several chunks: per-thread
    // results must accumulate. With n <= size(), item i runs on thread i. Returns when all are
    // done; fn must not throw.
    template <class Fn>
    void parallel_for(int64_t n, Fn&& fn) {
        run(n, [](void* ctx, int64_t b, int64_t e, int t) { (*static_cast<Fn*>(ctx))(b, e, t); }, &fn);
    }

private:
    using Task = void (*)(void*, int64_t, int64_t, int);
    void run(int64_t n, Task task, void* ctx);
    void worker(int index);
    void run_range(int index);

    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    std::atomic<uint64_t> generation_{0};   // bumped per operation; publishes task_, ctx_, n_
    std::atomic<int> pending_{0};           // workers still running the current operation
    std::atomic<int64_t> next_{0};          // the first index no thread has taken yet
    std::atomic<bool> stop_{false};
    Task task_ = nullptr;
    void* ctx_ = nullptr;
    int64_t n_ = 0;
};

}  // namespace phidesk
