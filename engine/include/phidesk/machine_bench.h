// What this machine can do, measured, so speed figures can be given as ratios against it.
#pragma once
#include <cstddef>

namespace phidesk {

// Physical cores of this machine (logical CPUs when the topology cannot be read): the CPU
// backend's default thread count.
int physical_core_count();

// Multi-threaded streaming read of a buffer far larger than the caches; GB/s (1e9), median of runs.
double measure_read_bandwidth(int threads, size_t bytes, int runs);
// Float32 fused multiply-add peak with the best CPU kernels; GFLOP/s (one FMA = 2 flops).
double measure_fma_peak(int threads, int runs);

}  // namespace phidesk
