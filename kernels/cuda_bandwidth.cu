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

double copy_bandwidth(int device, size_t bytes, int runs) {
    check(cudaSetDevice(device), "select the device");
    int sms = 0;
    check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "device attributes");
    const size_t n = bytes / sizeof(float4);
    float4 *src = nullptr, *dst = nullptr;
    check(cudaMalloc(&src, n * sizeof(float4)), "allocate the copy buffers");
    if (cudaMalloc(&dst, n * sizeof(float4)) != cudaSuccess) {
        cudaFree(src);
        throw Error("GPU out of memory (copy buffers)");
    }
    cudaMemset(src, 0, n * sizeof(float4));
    cudaEvent_t start, stop;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    std::vector<double> gbs;
    for (int r = 0; r <= runs; ++r) {   // the first run warms up
        cudaEventRecord(start);
        copy_kernel<<<sms * 8, 256>>>(src, dst, n);
        cudaEventRecord(stop);
        cudaEventSynchronize(stop);
        float ms = 0;
        cudaEventElapsedTime(&ms, start, stop);
        if (r > 0) gbs.push_back(2.0 * double(n * sizeof(float4)) / (double(ms) * 1e6));
    }
    const cudaError_t e = cudaGetLastError();
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    cudaFree(src);
    cudaFree(dst);
    check(e, "copy kernel");
    std::sort(gbs.begin(), gbs.end());
    return gbs[gbs.size() / 2];
}

}  // namespace phidesk::cuda
