#include "phidesk/machine_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels.h"
#include "quantize.h"
#include "thread_pool.h"
#include "weight_memory.h"

namespace phidesk {
namespace {

using Clock = std::chrono::steady_clock;

// A [rows, cols] matrix of `dtype` from random values in [-1, 1): its bytes (scales first for
// Q8/Q4, as quantize() lays them out) and a view of them.
struct RandomMatrix {
    std::vector<uint8_t> bytes;
    TensorView view;

    RandomMatrix(DType dtype, int64_t rows, int64_t cols) {
        std::vector<float> w(size_t(rows * cols));
        uint32_t state = 12345;
        for (float& v : w) state = state * 1664525u + 1013904223u, v = float(state >> 8) / float(1 << 23) - 1.0f;
        const TensorView f32{"dot benchmark", DType::F32, {rows, cols}, w.data(), nullptr};
        bytes = is_quantized(dtype) ? quantize(dtype, f32) : convert_float(dtype, f32);
        const size_t scales = is_quantized(dtype) ? 2 * scale_count(dtype, rows, cols) : 0;
        view = TensorView{"dot benchmark", dtype, {rows, cols}, bytes.data() + scales,
                          is_quantized(dtype) ? reinterpret_cast<const uint16_t*>(bytes.data()) : nullptr};
    }
};

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

double measure_dot_rate(int threads, DType dtype, int runs, std::string_view kernels) {
    const CpuKernels& k = select_cpu_kernels(kernels);
    ThreadPool pool(threads);
    constexpr int64_t kCols = 2560, kBytesPerThread = 256 << 10;   // within a recent core's L2 (Zen 4: 1 MB)
    constexpr double kBytesPerRun = 1e9;                             // per thread: ~0.1 s at the best level
    const int64_t row_bytes = int64_t(value_bytes(dtype, 1, kCols) + 2 * scale_count(dtype, 1, kCols));
    const int64_t rows = std::max<int64_t>(8, kBytesPerThread / row_bytes);
    const int passes = int(kBytesPerRun / double(rows * row_bytes)) + 1;
    std::vector<RandomMatrix> matrices;   // views into their own bytes: built in place, never moved
    matrices.reserve(size_t(pool.size()));
    for (int t = 0; t < pool.size(); ++t) matrices.emplace_back(dtype, rows, kCols);
    std::vector<float> x(size_t(q4_input_floats(kCols)), 0.5f);
    if (dtype == DType::Q4) {
        std::vector<float> plain(x);
        k.q4_input_order(plain.data(), kCols, x.data());
    }
    std::vector<float> sums(matrices.size());
    auto run_passes = [&](int count) {
        pool.parallel_for(pool.size(), [&](int64_t t, int64_t, int) {
            float sum = 0.0f;   // one write at the end: the threads' sums share a cache line
            for (int p = 0; p < count; ++p)
                for (int64_t o = 0; o < rows; ++o) sum += dot_row(k, matrices[size_t(t)].view, o, x.data());
            sums[size_t(t)] = sum;
        });
        g_sink = sums[0];
    };
    run_passes(2);   // caches warm
    std::vector<double> gbs;
    for (int r = 0; r < std::max(runs, 1); ++r) {
        const auto t0 = Clock::now();
        run_passes(passes);
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        gbs.push_back(double(passes) * double(rows * row_bytes) * pool.size() / s / 1e9);
    }
    return median(gbs);
}

}  // namespace phidesk
