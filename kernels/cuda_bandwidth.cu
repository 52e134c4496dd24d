// The device's achievable memory bandwidth: a grid-stride copy of a buffer far larger than L2,
// timed with events; bytes read + bytes written per second, median of the runs.
#include <cuda_runtime.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cuda_backend.h"
#include "cuda_check.cuh"
#include "phidesk/error.h"

namespace phidesk::cuda {
namespace {

__global__ void copy_kernel(const float4* __restrict__ src, float4* __restrict__ dst, size_t n) {
    for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) dst[i] = src[i];
}

}  // namespace

// The buffers and events, released on every path out.
struct CopyRun {
    float4 *src = nullptr, *dst = nullptr;
    cudaEvent_t start = nullptr, stop = nullptr;
    CopyRun() = default;
    CopyRun(const CopyRun&) = delete;
    CopyRun& operator=(const CopyRun&) = delete;
    ~CopyRun() {
        if (start) cudaEventDestroy(start);
        if (stop) cudaEventDestroy(stop);
        cudaFree(src);
        cudaFree(dst);
    }
};

double copy_bandwidth(int device, size_t bytes, int runs) {
    if (runs < 1) throw Error("--runs must be positive");
    const size_t n = bytes / sizeof(float4);
    if (n == 0) throw Error("the copy buffer must hold at least 16 bytes");
    require_usable(device);   // no GPU or no driver: said as for any other use
    check(cudaSetDevice(device), "select the device");
    int sms = 0;
    check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "device attributes");
    CopyRun c;
    check(cudaMalloc(&c.src, n * sizeof(float4)), "copy buffers");
    check(cudaMalloc(&c.dst, n * sizeof(float4)), "copy buffers");
    check(cudaMemset(c.src, 0, n * sizeof(float4)), "clear the copy buffer");
    check(cudaEventCreate(&c.start), "timing events");
    check(cudaEventCreate(&c.stop), "timing events");
    std::vector<double> gbs;
    for (int r = 0; r <= runs; ++r) {   // the first run warms up
        check(cudaEventRecord(c.start), "timing events");
        copy_kernel<<<sms * 8, 256>>>(c.src, c.dst, n);
        check(cudaGetLastError(), "copy kernel launch");
        check(cudaEventRecord(c.stop), "timing events");
        check(cudaEventSynchronize(c.stop), "copy kernel");
        float ms = 0;
        check(cudaEventElapsedTime(&ms, c.start, c.stop), "timing events");
        if (r > 0) gbs.push_back(2.0 * double(n * sizeof(float4)) / (double(ms) * 1e6));
    }
    std::sort(gbs.begin(), gbs.end());
    return gbs[gbs.size() / 2];
}

}  // namespace phidesk::cuda
