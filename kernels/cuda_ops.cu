#include "cuda_ops.cuh"

#include <cfloat>

namespace phidesk::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kAttentionChunk = 256;   // KV positions per attention block

// The reduction of every thread's v over the block, returned to all of them. `identity` is
// op's neutral value; `shared` holds one T per warp and is free again on return.
template <class T, class Op>
__device__ T block_reduce(T v, T identity, Op op, T* shared) {
    for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    v = threadIdx.x < (blockDim.x + 31) / 32 ? shared[threadIdx.x] : identity;
    if (warp == 0)
        for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
    if (threadIdx.x == 0) shared[0] = v;
    __syncthreads();
    v = shared[0];
    __syncthreads();
    return v;
}

__device__ float block_sum(float v, float* shared) {
    return block_reduce(v, 0.0f, [](float a, float b) { return a + b; }, shared);
}

__device__ float block_max(float v, float* shared) {
    return block_reduce(v, -FLT_MAX, [](float a, float b) { return fmaxf(a, b); }, shared);
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

__device__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Attention split over the KV length (flash-decoding): block (row, split) with row = t * heads + h
// takes positions [split * kAttentionChunk, ...) of query t, head h, and leaves its part unscaled:
// its max score, sum of exp(score - max) and sum of exp(score - max) * V. One token's 32 heads
// would otherwise be 32 blocks on a GPU of 100+ multiprocessors, each walking 2048 positions.
__global__ void attention_part_kernel(const float* q, const float* k_cache, const float* v_cache, float* part_out,
                                      float* part_max, float* part_sum, const int* pos, int heads, int kv_heads,
                                      int head_dim) {
    __shared__ float scores[kAttentionChunk];
    __shared__ float shared[32];
    const int row = blockIdx.x, t = row / heads, h = row % heads, kvh = h / (heads / kv_heads);
    const int slot = row * gridDim.y + blockIdx.y;
    const int begin = blockIdx.y * kAttentionChunk, end = min(begin + kAttentionChunk, *pos + t + 1);
    if (begin >= end) {   // past this query's positions: an empty part (the whole block returns)
        if (threadIdx.x == 0) part_max[slot] = -FLT_MAX, part_sum[slot] = 0.0f;
        return;
    }
    const size_t kv_stride = size_t(kv_heads) * head_dim;
    const float* qv = q + size_t(row) * head_dim;   // q is [tokens, heads, head_dim]
    const float scale = rsqrtf(float(head_dim));
    // One warp per position, its lanes across head_dim: K rows are read whole and coalesced.
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    for (int j = begin + warp; j < end; j += warps) {
        const float* kv = k_cache + j * kv_stride + size_t(kvh) * head_dim;
        float d = 0.0f;
        for (int i = lane; i < head_dim; i += 32) d += qv[i] * kv[i];
        d = warp_sum(d);
        if (lane == 0) scores[j - begin] = d * scale;
    }
    __syncthreads();
    const int len = end - begin;
    float local_max = -FLT_MAX;
    for (int j = threadIdx.x; j < len; j += blockDim.x) local_max = fmaxf(local_max, scores[j]);
    const float max = block_max(local_max, shared);
    float local_sum = 0.0f;
    for (int j = threadIdx.x; j < len; j += blockDim.x) local_sum += (scores[j] = __expf(scores[j] - max));
    const float sum = block_sum(local_sum, shared);   // its barriers also publish scores[]
    for (int i = threadIdx.x; i < head_dim; i += blockDim.x) {
        const float* vv = v_cache + size_t(begin) * kv_stride + size_t(kvh) * head_dim + i;
        float acc = 0.0f;
        for (int j = 0; j < len; ++j) acc += scores[j] * vv[j * kv_stride];
        part_out[size_t(slot) * head_dim + i] = acc;
    }
    if (threadIdx.x == 0) part_max[slot] = max, part_sum[slot] = sum;
}

// out16[row] = sum over parts of exp(max_p - M) * out_p / sum over parts of exp(max_p - M) * sum_p,
// M the largest part max: the softmax over all positions, assembled from its parts.
__global__ void attention_combine_kernel(const float* part_out, const float* part_max, const float* part_sum, half* out,
                                         int splits, int head_dim) {
    const int row = blockIdx.x;
    const float* pmax = part_max + size_t(row) * splits;
    const float* psum = part_sum + size_t(row) * splits;
    float m = -FLT_MAX;
    for (int p = 0; p < splits; ++p) m = fmaxf(m, pmax[p]);
    float total = 0.0f;
    for (int p = 0; p < splits; ++p)
        if (psum[p] > 0.0f) total += psum[p] * __expf(pmax[p] - m);
    for (int i = threadIdx.x; i < head_dim; i += blockDim.x) {
        float acc = 0.0f;
        for (int p = 0; p < splits; ++p)
            if (psum[p] > 0.0f) acc += part_out[(size_t(row) * splits + p) * head_dim + i] * __expf(pmax[p] - m);
        out[size_t(row) * head_dim + i] = __float2half(acc / total);
    }
}

__global__ void add_residuals_kernel(float* x, const float* a, const float* m, long long count) {
    const long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i < count) x[i] += a[i] + m[i];
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

// The host sampler's order as one unsigned key: higher value first, ties to the lower id; -0
// orders as +0 (the host compares them equal). Real keys are never 0 (the low half is > 0).
__device__ unsigned long long best_key(float v, int id) {
    unsigned bits = __float_as_uint(v == 0.0f ? 0.0f : v);
    bits ^= (bits >> 31) ? 0xFFFFFFFFu : 0x80000000u;   // unsigned order = float order
    return (static_cast<unsigned long long>(bits) << 32) | (0xFFFFFFFFu - unsigned(id));
}

// One block. Each thread owns a contiguous slice of the vocabulary and knows its best entry not
// yet taken; k rounds each take the block's best, and only its owner rescans its slice.
__global__ void __launch_bounds__(1024) best_logits_kernel(float* logits, int vocab, const int* penalized, int n_penalized, float penalty,
                                   float temperature, int k, int* ids, float* values) {
    __shared__ unsigned long long shared[32];
    for (int i = threadIdx.x; i < n_penalized; i += blockDim.x) {   // distinct ids: no two threads meet
        const int id = penalized[i];
        if (id < 0 || id >= vocab) continue;
        const float l = logits[id];
        logits[id] = l > 0 ? l / penalty : l * penalty;   // as the host sampler does it
    }
    __syncthreads();
    const int per = (vocab + blockDim.x - 1) / blockDim.x, begin = threadIdx.x * per, end = min(begin + per, vocab);
    if (temperature > 0.0f)
        for (int i = begin; i < end; ++i) logits[i] = logits[i] / temperature;
    auto best_below = [&](unsigned long long limit) {
        unsigned long long b = 0;
        for (int i = begin; i < end; ++i) {
            const unsigned long long key = best_key(logits[i], i);
            if (key < limit && key > b) b = key;
        }
        return b;
    };
    unsigned long long mine = best_below(~0ull);
    for (int r = 0; r < k; ++r) {
        const unsigned long long top =
            block_reduce(mine, 0ull, [](unsigned long long a, unsigned long long b) { return max(a, b); }, shared);
        if (top != 0 && mine == top) {   // keys are unique, so exactly one thread owns it
            const int id = int(0xFFFFFFFFu - unsigned(top & 0xFFFFFFFFu));
            ids[r] = id, values[r] = logits[id];
            mine = best_below(top);
        }
    }
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

int attention_parts(int context) { return (context + kAttentionChunk - 1) / kAttentionChunk; }

void attention_to_half(const float* q, const float* k_cache, const float* v_cache, half* out16, int n, const int* pos0,
                       int context, int heads, int kv_heads, int head_dim, AttentionScratch scratch, cudaStream_t s) {
    // Parts for the whole context: the position is only known on the device (a captured decode
    // step replays at every position); parts past it return at once.
    const int splits = attention_parts(context);
    attention_part_kernel<<<dim3(unsigned(n * heads), unsigned(splits)), 128, 0, s>>>(
        q, k_cache, v_cache, scratch.out, scratch.max, scratch.sum, pos0, heads, kv_heads, head_dim);
    attention_combine_kernel<<<n * heads, 128, 0, s>>>(scratch.out, scratch.max, scratch.sum, out16, splits, head_dim);
}

void best_logits(float* logits, int vocab, const int* penalized, int n_penalized, float penalty, float temperature, int k,
                 int* ids, float* values, cudaStream_t s) {
    best_logits_kernel<<<1, 1024, 0, s>>>(logits, vocab, penalized, n_penalized, penalty, temperature, k, ids, values);
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
