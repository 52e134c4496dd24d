// What this machine can do, measured, so speed figures can be given as ratios against it.
#pragma once
#include <cstddef>
#include <string_view>

#include "phidesk/tensor.h"

namespace phidesk {

// Physical cores of this machine (logical CPUs when the topology cannot be read): the CPU
// backend's default thread count.
int physical_core_count();

// Multi-threaded streaming read of a buffer far larger than the caches; GB/s (1e9), median of runs.
double measure_read_bandwidth(int threads, size_t bytes, int runs);
// Float32 fused multiply-add peak with the best CPU kernels; GFLOP/s (one FMA = 2 flops).
double measure_fma_peak(int threads, int runs);
// How fast decode's one-row dot consumes `dtype` weights when memory never makes it wait: each
// thread runs it over its own 2560-wide matrix (phi-2's hidden size), small enough to stay in its
// L2 cache. GB/s (1e9) of weight bytes (values and scales), all threads together, median of runs.
// Decode streams each weight from memory through this dot, so it goes no faster than the slower
// of the two rates: this one tells an arithmetic-bound decode from a memory-bound one. `kernels`
// forces a kernel level as --cpu-kernels does ("": the best this CPU runs).
double measure_dot_rate(int threads, DType dtype, int runs, std::string_view kernels = "");

}  // namespace phidesk
