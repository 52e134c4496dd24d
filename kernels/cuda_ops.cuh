// The forward pass's GPU kernels, named after the math they do. Activations are float32;
// matrices go to cuBLAS as fp16 with fp32 accumulation. Shapes are [tokens, features].
#pragma once
#include <cstdint>

#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace phidesk::cuda {

// x[t] = embedding row ids[t] (fp16 table -> fp32)
void embed_rows(const int* ids, const half* table, float* x, int n, int dim, cudaStream_t s);
// y16[t] = LayerNorm(x[t]) * w + b, statistics in fp32
void layer_norm_to_half(const float* x, const float* w, const float* b, float eps, half* y16, int n, int dim, cudaStream_t s);
// y[t, o] += bias[o]; with gelu, also writes gelu(y) as fp16 to y16 (the next matrix's input)
void add_bias(float* y, const float* bias, int n, int dim, cudaStream_t s);
void add_bias_gelu_to_half(const float* y, const float* bias, half* y16, int n, int dim, cudaStream_t s);
// The position of a batch's first token is read on the device (*pos0), not passed by value, so
// that a captured decode step (CUDA Graph) replays correctly at every position.

// Rotate-half RoPE on the first rotary_dim dims of each head, positions *pos0 + t
void rope(float* x, int n, int heads, int head_dim, int rotary_dim, const int* pos0, float theta, cudaStream_t s);
// cache[*pos0 + t] = x[t] for the K and V caches, rows of `width` floats
void append_kv(const float* k, const float* v, float* k_cache, float* v_cache, int n, int width, const int* pos0,
               cudaStream_t s);
// out16[t, h] = softmax(q[t, h] . K[0..*pos0+t] / sqrt(head_dim)) . V, fp32 scores and softmax,
// the KV length split into parts of 256 positions that run in parallel and are then combined.
// The scratch holds attention_parts(context) parts per (token, head): out [.., head_dim], max, sum.
int attention_parts(int context);
struct AttentionScratch {
    float *out, *max, *sum;
};
void attention_to_half(const float* q, const float* k_cache, const float* v_cache, half* out16, int n, const int* pos0,
                       int context, int heads, int kv_heads, int head_dim, AttentionScratch scratch, cudaStream_t s);
// x += a + m
void add_residuals(float* x, const float* a, const float* m, long long count, cudaStream_t s);

// The sampler's choice on the device (phidesk::Sampler's best-candidates interface): the
// repetition penalty on the distinct ids `penalized`, division by `temperature` (skipped when
// <= 0), then the k best (ids, values), highest first, ties to the lower id. Modifies `logits`;
// k <= vocab. k rounds over one block: meant for small k (top-k sampling, 1 for greedy).
void best_logits(float* logits, int vocab, const int* penalized, int n_penalized, float penalty, float temperature, int k,
                 int* ids, float* values, cudaStream_t s);

// Quantized weights stay in their .phz layout on the device (engine/phz/FORMAT.md): Q8 one fp16
// scale per row; Q4 one fp16 scale per 32 elements, element 2i in the low nibble of byte i, q+8.
// y[o] = sum_i W[o, i] * x16[i] for one token, dequantizing in registers (one warp per row,
// 16 bytes per lane per step, fp32 accumulation). `in` a multiple of 32.
void matvec_q8(const int8_t* q, const half* scales, const half* x16, float* y, int out, int in, cudaStream_t s);
void matvec_q4(const uint8_t* q, const half* scales, const half* x16, float* y, int out, int in, cudaStream_t s);
// w16[r, i] = W[r, i] for rows r < rows (a block of rows, its values and scales already offset)
void dequantize_q8(const int8_t* q, const half* scales, half* w16, int rows, int in, cudaStream_t s);
void dequantize_q4(const uint8_t* q, const half* scales, half* w16, int rows, int in, cudaStream_t s);

}  // namespace phidesk::cuda
