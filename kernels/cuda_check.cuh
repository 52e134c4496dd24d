// CUDA runtime errors as phidesk::Error, naming what failed; out of memory says so plainly.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "phidesk/error.h"

namespace phidesk::cuda {

inline void check(cudaError_t e, const char* what) {
    if (e == cudaSuccess) return;
    // A failed call is also the thread's last error until read: left there, the next launch
    // check (a good one, after the caller recovered from this) would report it again.
    cudaGetLastError();
    if (e == cudaErrorMemoryAllocation) throw Error(std::string("GPU out of memory (") + what + ")");
    throw Error(std::string("CUDA: ") + what + ": " + cudaGetErrorString(e));
}

}  // namespace phidesk::cuda
