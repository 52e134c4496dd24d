#include "cuda_ops.cuh"

#include <cfloat>

namespace phidesk::cuda {
namespace {

constexpr int kThreads = 256;

__device__ float block_sum(float v, float* shared) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    const int warps = (blockDim.x + 31) / 32;
    v = threadIdx.x < warps ? shared[threadIdx.x] : 0.0f;
    if (warp == 0)
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (threadIdx.x == 0) shared[0] = v;
    __syncthreads();
    v = shared[0];
    __syncthreads();
    return v;
}

__device__ float block_max(float v, float* shared) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    const int warps = (blockDim.x + 31) / 32;
    v = threadIdx.x < warps ? shared[threadIdx.x] : -FLT_MAX;
    if (warp == 0)
        for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    if (threadIdx.x == 0) shared[0] = v;
    __syncthreads();
    v = shared[0];
    __syncthreads();
    return v;
}

__global__ void embed_rows_kernel(const int* ids, const half* table, float* x, int dim) {
    const int t = blockIdx.x;
    const half* row = table + size_t(ids[t]) * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) x[size_t(t) * dim + i] = __half2float(row[i]);
}

__global__ void layer_norm_kernel(const float* x, const float* w, const float* b, float eps, half* y, int dim) {
    __shared__ float shared[32];
    const float* xr = x + size_t(blockIdx.x) * dim;
    float sum = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) sum += xr[i];
    const float mean = block_sum(sum, shared) / dim;
    float var = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) var += (xr[i] - mean) * (xr[i] - mean);
    const float inv = rsqrtf(block_sum(var, shared) / dim + eps);
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
        y[size_t(blockIdx.x) * dim + i] = __float2half((xr[i] - mean) * inv * w[i] + b[i]);
}

__global__ void add_bias_kernel(float* y, const float* bias, long long count, int dim) {
    const long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i < count) y[i] += bias[i % dim];
}

__device__ float gelu_new(float x) {
    return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

__global__ void add_bias_gelu_kernel(const float* y, const float* bias, half* out, long long count, int dim) {
    const long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i < count) out[i] = __float2half(gelu_new(y[i] + bias[i % dim]));
}

__global__ void rope_kernel(float* x, int heads, int head_dim, int rotary_dim, const int* pos, float theta) {
    const int t = blockIdx.x, half_rot = rotary_dim / 2, pos0 = *pos;
    for (int k = threadIdx.x; k < heads * half_rot; k += blockDim.x) {
        const int h = k / half_rot, i = k % half_rot;
        // As transformers computes it in float32: inv_freq = theta^(-2i/rotary_dim).
        const float inv_freq = 1.0f / powf(theta, float(2 * i) / float(rotary_dim));
        float s, c;
        sincosf(float(pos0 + t) * inv_freq, &s, &c);
        float* v = x + (size_t(t) * heads + h) * head_dim;
        const float a = v[i], b = v[i + half_rot];
        v[i] = a * c - b * s;
        v[i + half_rot] = b * c + a * s;
    }
}

__global__ void append_kv_kernel(const float* k, const float* v, float* k_cache, float* v_cache, int width, const int* pos) {
    const size_t row = size_t(*pos + blockIdx.x) * width, src = size_t(blockIdx.x) * width;
    for (int i = threadIdx.x; i < width; i += blockDim.x) k_cache[row + i] = k[src + i], v_cache[row + i] = v[src + i];
}

// One block per (token, head). Scores for all visible positions live in dynamic shared memory.
__global__ void attention_kernel(const float* q, const float* k_cache, const float* v_cache, half* out, const int* pos,
                                 int heads, int kv_heads, int head_dim) {
    extern __shared__ float scores[];
    __shared__ float shared[32];
    const int t = blockIdx.x / heads, h = blockIdx.x % heads, kvh = h / (heads / kv_heads);
    const int positions = *pos + t + 1;
    const size_t q_stride = size_t(heads) * head_dim, kv_stride = size_t(kv_heads) * head_dim;
    const float* qv = q + t * q_stride + size_t(h) * head_dim;
    const float scale = rsqrtf(float(head_dim));
    float local_max = -FLT_MAX;
    for (int j = threadIdx.x; j < positions; j += blockDim.x) {
        const float* kv = k_cache + j * kv_stride + size_t(kvh) * head_dim;
        float d = 0.0f;
        for (int i = 0; i < head_dim; ++i) d += qv[i] * kv[i];
        scores[j] = d * scale;
        local_max = fmaxf(local_max, scores[j]);
    }
    const float max = block_max(local_max, shared);
    float local_sum = 0.0f;
    for (int j = threadIdx.x; j < positions; j += blockDim.x) local_sum += (scores[j] = __expf(scores[j] - max));
    const float inv = 1.0f / block_sum(local_sum, shared);
    for (int i = threadIdx.x; i < head_dim; i += blockDim.x) {
        float acc = 0.0f;
        for (int j = 0; j < positions; ++j) acc += scores[j] * v_cache[j * kv_stride + size_t(kvh) * head_dim + i];
        out[t * q_stride + size_t(h) * head_dim + i] = __float2half(acc * inv);
    }
}

__global__ void add_residuals_kernel(float* x, const float* a, const float* m, long long count) {
    const long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i < count) x[i] += a[i] + m[i];
}

__device__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

constexpr int kWarpsPerBlock = 4;

// One warp per output row; each lane reads 16 weight bytes at a time (one 128-bit load), so a
// warp reads 512 contiguous bytes per step and the row streams at full width.
__global__ void matvec_q8_kernel(const int8_t* q, const half* scales, const half* x, float* y, int out, int in) {
    const int row = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= out) return;
    const int8_t* r = q + size_t(row) * in;
    float acc = 0.0f;
    for (int i = lane * 16; i < in; i += 32 * 16) {
        const int4 packed = *reinterpret_cast<const int4*>(r + i);
        const int8_t* w = reinterpret_cast<const int8_t*>(&packed);
        uint4 xs[2];   // the 16 inputs in two 128-bit loads (x + i is 32-byte aligned)
        xs[0] = *reinterpret_cast<const uint4*>(x + i), xs[1] = *reinterpret_cast<const uint4*>(x + i + 8);
        const half2* xh = reinterpret_cast<const half2*>(xs);
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            const float2 xf = __half22float2(xh[j]);
            acc += float(w[2 * j]) * xf.x + float(w[2 * j + 1]) * xf.y;
        }
    }
    acc = warp_sum(acc);
    if (lane == 0) y[row] = acc * __half2float(scales[row]);
}

// 16 bytes are exactly one group of 32 weights with one scale.
__global__ void matvec_q4_kernel(const uint8_t* q, const half* scales, const half* x, float* y, int out, int in) {
    const int row = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= out) return;
    const int groups = in / 32;
    const uint8_t* r = q + size_t(row) * (in / 2);
    const half* sr = scales + size_t(row) * groups;
    float acc = 0.0f;
    for (int g = lane; g < groups; g += 32) {
        const int4 packed = *reinterpret_cast<const int4*>(r + g * 16);
        const uint8_t* b = reinterpret_cast<const uint8_t*>(&packed);
        uint4 xs[4];   // the group's 32 inputs in four 128-bit loads (x + g * 32 is 64-byte aligned)
#pragma unroll
        for (int k = 0; k < 4; ++k) xs[k] = *reinterpret_cast<const uint4*>(x + g * 32 + 8 * k);
        const half2* xh = reinterpret_cast<const half2*>(xs);
        float sum = 0.0f;
#pragma unroll
        for (int j = 0; j < 16; ++j) {
            const float2 xf = __half22float2(xh[j]);
            sum += float(int(b[j] & 0xF) - 8) * xf.x + float(int(b[j] >> 4) - 8) * xf.y;
        }
        acc += sum * __half2float(sr[g]);
    }
    acc = warp_sum(acc);
    if (lane == 0) y[row] = acc;
}

__global__ void dequantize_q8_kernel(const int8_t* q, const half* scales, half* w, long long count, int in) {
    const long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i < count) w[i] = __float2half(float(q[i]) * __half2float(scales[i / in]));
}

__global__ void dequantize_q4_kernel(const uint8_t* q, const half* scales, half* w, long long count) {
    const long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i >= count) return;
    const uint8_t b = q[i / 2];
    const int level = int(i % 2 ? b >> 4 : b & 0xF) - 8;
    w[i] = __float2half(float(level) * __half2float(scales[i / 32]));   // rows are whole groups
}

unsigned blocks_for(long long count) { return unsigned((count + kThreads - 1) / kThreads); }

}  // namespace

void embed_rows(const int* ids, const half* table, float* x, int n, int dim, cudaStream_t s) {
    embed_rows_kernel<<<n, kThreads, 0, s>>>(ids, table, x, dim);
}

void layer_norm_to_half(const float* x, const float* w, const float* b, float eps, half* y16, int n, int dim, cudaStream_t s) {
    layer_norm_kernel<<<n, kThreads, 0, s>>>(x, w, b, eps, y16, dim);
}

void add_bias(float* y, const float* bias, int n, int dim, cudaStream_t s) {
    const long long count = (long long)n * dim;
    add_bias_kernel<<<blocks_for(count), kThreads, 0, s>>>(y, bias, count, dim);
}

void add_bias_gelu_to_half(const float* y, const float* bias, half* y16, int n, int dim, cudaStream_t s) {
    const long long count = (long long)n * dim;
    add_bias_gelu_kernel<<<blocks_for(count), kThreads, 0, s>>>(y, bias, y16, count, dim);
}

void rope(float* x, int n, int heads, int head_dim, int rotary_dim, const int* pos0, float theta, cudaStream_t s) {
    rope_kernel<<<n, 128, 0, s>>>(x, heads, head_dim, rotary_dim, pos0, theta);
}

void append_kv(const float* k, const float* v, float* k_cache, float* v_cache, int n, int width, const int* pos0,
               cudaStream_t s) {
    append_kv_kernel<<<n, kThreads, 0, s>>>(k, v, k_cache, v_cache, width, pos0);
}

// The default dynamic shared memory a launch may ask for: 48 KB less the kernel's static part.
int attention_max_context() {
    cudaFuncAttributes a{};
    if (cudaFuncGetAttributes(&a, attention_kernel) != cudaSuccess) return 0;
    return int((48 * 1024 - a.sharedSizeBytes) / sizeof(float));
}

void attention_to_half(const float* q, const float* k_cache, const float* v_cache, half* out16, int n, const int* pos0,
                       int context, int heads, int kv_heads, int head_dim, cudaStream_t s) {
    const size_t shared = sizeof(float) * size_t(context);   // the position is only known on the device
    attention_kernel<<<n * heads, 128, shared, s>>>(q, k_cache, v_cache, out16, pos0, heads, kv_heads, head_dim);
}

void add_residuals(float* x, const float* a, const float* m, long long count, cudaStream_t s) {
    add_residuals_kernel<<<blocks_for(count), kThreads, 0, s>>>(x, a, m, count);
}

void matvec_q8(const int8_t* q, const half* scales, const half* x16, float* y, int out, int in, cudaStream_t s) {
    matvec_q8_kernel<<<(out + kWarpsPerBlock - 1) / kWarpsPerBlock, 32 * kWarpsPerBlock, 0, s>>>(q, scales, x16, y, out, in);
}

void matvec_q4(const uint8_t* q, const half* scales, const half* x16, float* y, int out, int in, cudaStream_t s) {
    matvec_q4_kernel<<<(out + kWarpsPerBlock - 1) / kWarpsPerBlock, 32 * kWarpsPerBlock, 0, s>>>(q, scales, x16, y, out, in);
}

void dequantize_q8(const int8_t* q, const half* scales, half* w16, int rows, int in, cudaStream_t s) {
    const long long count = (long long)rows * in;
    dequantize_q8_kernel<<<blocks_for(count), kThreads, 0, s>>>(q, scales, w16, count, in);
}

void dequantize_q4(const uint8_t* q, const half* scales, half* w16, int rows, int in, cudaStream_t s) {
    const long long count = (long long)rows * in;
    dequantize_q4_kernel<<<blocks_for(count), kThreads, 0, s>>>(q, scales, w16, count);
}

}  // namespace phidesk::cuda
