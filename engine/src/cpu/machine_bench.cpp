#include "phidesk/machine_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels.h"
#include "thread_pool.h"
#include "weight_memory.h"

namespace phidesk {
namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

volatile float g_sink;   // keeps the benchmark loops from being optimized away

}  // namespace

double measure_read_bandwidth(int threads, size_t bytes, int runs) {
    const CpuKernels& k = select_cpu_kernels("");
    ThreadPool pool(threads);
    const int64_t n = int64_t(bytes / sizeof(float));
    // Memory like the weights' (huge pages where the system offers them).
    const std::shared_ptr<uint8_t> mem = allocate_weight_memory(size_t(n) * sizeof(float), "bench-memory");
    float* buf = reinterpret_cast<float*>(mem.get());
    pool.parallel_for(n, [&](int64_t b, int64_t e, int) { std::fill(buf + b, buf + e, 1.0f); });   // fault pages in
    std::vector<double> gbs;
    for (int r = 0; r < std::max(runs, 1); ++r) {
        std::vector<float> partial(size_t(pool.size()));
        const auto t0 = Clock::now();
        pool.parallel_for(n, [&](int64_t b, int64_t e, int t) { partial[size_t(t)] += k.sum(buf + b, e - b); });
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        g_sink = partial[0];
        gbs.push_back(double(n) * sizeof(float) / s / 1e9);
    }
    return median(gbs);
}

double measure_fma_peak(int threads, int runs) {
    const CpuKernels& k = select_cpu_kernels("");
    ThreadPool pool(threads);
    const int64_t iterations = 20'000'000;   // per thread; ~0.3 s at a few GHz
    std::vector<double> gflops;
    for (int r = 0; r < std::max(runs, 1); ++r) {
        const auto t0 = Clock::now();
        pool.parallel_for(pool.size(), [&](int64_t, int64_t, int) { g_sink = k.fma_loop(iterations); });
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        gflops.push_back(double(iterations) * double(kFmaLoopFlops) * pool.size() / s / 1e9);
    }
    return median(gflops);
}

}  // namespace phidesk
