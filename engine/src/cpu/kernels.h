// The CPU's inner loops, one table per instruction-set level, chosen at run time.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "phidesk/tensor.h"

namespace phidesk {

struct CpuKernels {
    const char* name;                                              // "portable", "avx2", "avx512"
    float (*dot)(const float* a, const float* b, int64_t n);       // sum a[i]*b[i]
    // A decode step's attention for one head, over `positions` keys or values of d elements, one
    // every `stride` elements (the cache's rows): scores[j] = q . keys[j]; out = sum_j p[j] values[j].
    // Several rows at a time, so that short dots share their reductions and out stays in registers.
    void (*key_scores)(const float* q, const float* keys, int64_t stride, int64_t positions, int64_t d, float* scores);
    void (*weighted_sum)(const float* p, const float* values, int64_t stride, int64_t positions, int64_t d, float* out);
    // The same over a float16 cache: the sums of the converted rows, bit for bit.
    void (*key_scores_f16)(const float* q, const uint16_t* keys, int64_t stride, int64_t positions, int64_t d,
                           float* scores);
    void (*weighted_sum_f16)(const float* p, const uint16_t* values, int64_t stride, int64_t positions, int64_t d,
                             float* out);
    void (*f16_to_f32)(const uint16_t* src, float* dst, int64_t n);
    // dst = src as float16, rounded to nearest even and held to +-65504 (the largest finite half):
    // a float16 KV cache's store, where an infinite key would make every score NaN. NaN stays NaN.
    void (*f32_to_f16_saturating)(const float* src, uint16_t* dst, int64_t n);
    void (*bf16_to_f32)(const uint16_t* src, float* dst, int64_t n);
    void (*q8_to_f32)(const int8_t* q, float scale, float* dst, int64_t n);
    // n a multiple of kQ4Group; one fp16 scale per group.
    void (*q4_to_f32)(const uint8_t* q, const uint16_t* scales, float* dst, int64_t n);
    // Dot products straight from the stored row (decode: the weights stream once, no row buffer).
    // F16 and BF16 sum in exactly the order `dot` does over the converted row. The quantized
    // ones equal the dequantized row's dot within float rounding: they multiply the integer
    // levels by x and apply a scale to a partial sum (the row's for Q8, the group's for Q4)
    // instead of to every weight, which saves an operation per weight.
    float (*dot_f16)(const uint16_t* w, const float* x, int64_t n);
    float (*dot_bf16)(const uint16_t* w, const float* x, int64_t n);
    float (*dot_q8)(const int8_t* w, float scale, const float* x, int64_t n);
    // xq: the input in this level's Q4 order (q4_input_order below), so nibbles unpack without shuffles.
    float (*dot_q4)(const uint8_t* w, const uint16_t* scales, const float* xq, int64_t n);
    // x[0, n) reordered the way this level's Q4 dots read it, into xq[0, q4_input_floats(n)),
    // zeros past the last element. n a multiple of kQ4Group.
    void (*q4_input_order)(const float* x, int64_t n, float* xq);
    // Rows o..o+7 of a 2-D weight (any dtype; x in this level's Q4 order for Q4) against x: out[r] is bit-equal
    // to the one-row dot of row o+r above, but x is read once for the eight rows. That matters
    // when x is too wide to stay in L1 beside the weights streaming past (fc2's 10240 floats):
    // one row at a time then reads it from L2 for every row, at about half the speed.
    void (*dot8)(const TensorView& w, int64_t o, const float* x, float out[8]);
    // Prefill: panel[k * 16 + r] = rows[r][k] for k < n (16 weight rows, k-major), then
    // acc[t][r] += sum_k panel[k * 16 + r] * x[t][k] for k < n, in order: 16 weight rows
    // packed k-major against 6 tokens, so every load feeds several FMAs.
    void (*pack_panel)(const float* const rows[16], int64_t n, float* panel);
    // The same for rows o0..o0+15 of a 2-D weight of any dtype, read as stored: each weight
    // exactly as weight_value (and the row conversions above) give it. Rows past the weight's end
    // (a narrow last panel) repeat its last row; their results are not used. (linear() packs F16
    // rows with pack_f16_weights below instead.)
    void (*pack_weights)(const TensorView& w, int64_t o0, float* panel);
    void (*gemm_16x6)(const float* panel, const float* const x[6], int64_t n, float* const acc[6]);
    // The same for F16 weights, whose panel keeps the stored halves (panel[k * 16 + r], rows past
    // the end repeating the last): half the bytes to write and keep in L2, and no conversion while
    // packing; gemm_16x6_f16 converts each panel vector as it loads it, so it sums exactly as
    // gemm_16x6 over the converted panel, bit for bit.
    void (*pack_f16_weights)(const TensorView& w, int64_t o0, uint16_t* panel);
    void (*gemm_16x6_f16)(const uint16_t* panel, const float* const x[6], int64_t n, float* const acc[6]);
    // x = gelu_new(x) in place: the tanh approximation of GELU that Phi was trained with.
    void (*gelu_new)(float* x, int64_t n);
    // x[0, n) = softmax(x * scale) in place (attention's probabilities).
    void (*softmax)(float* x, int64_t n, float scale);
    // Machine benchmarks: sum of a buffer (read bandwidth), and `iterations` rounds of independent FMAs.
    float (*sum)(const float* x, int64_t n);
    float (*fma_loop)(int64_t iterations);   // performs iterations * kFmaLoopFlops flops
};

inline constexpr int64_t kPanelRows = 16, kPanelTokens = 6;   // gemm_16x6
inline constexpr int64_t kFmaLoopFlops = 12 * 8 * 2;   // 12 vectors of 8 lanes, multiply + add

// gelu_new of one value, in float: the portable kernel and the SIMD kernels' tails.
inline float gelu_new_scalar(float v) {
    return 0.5f * v * (1.0f + std::tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
}

inline constexpr float kLargestF16 = 65504.0f;   // the largest finite float16

// The length of a reordered Q4 input: n rounded up to whole blocks of kQ4Block elements (four
// groups), which the AVX-512 dots read; the padding is zero.
inline constexpr int64_t kQ4Block = 128;
inline int64_t q4_input_floats(int64_t n) { return (n + kQ4Block - 1) / kQ4Block * kQ4Block; }
// The portable and AVX2 levels' Q4 order: per group of 32, its 16 even elements, then its 16 odd
// ones (a stored byte holds elements 2i and 2i+1).
void q4_order_pairs(const float* x, int64_t n, float* xq);

// Row o of a 2-D weight of any dtype against x (in k's Q4 order for Q4), by k's one-row dot for it.
float dot_row(const CpuKernels& k, const TensorView& w, int64_t o, const float* x);
// Weight [o, i] of a 2-D weight of any dtype as float, as the row conversions give it.
float weight_value(const TensorView& w, int64_t o, int64_t i);

extern const CpuKernels kPortableKernels;
extern const CpuKernels kAvx2Kernels;   // x86 only: AVX2 + FMA + F16C; only call when the CPU has them
// x86 only: the AVX2 table with 512-bit decode dots (AVX-512 F/BW/VL). A function, not a
// constant, because it is built from kAvx2Kernels, which lives in another file.
const CpuKernels& avx512_kernels();

// Whether this CPU (and OS) runs a level: "portable", "avx2" or "avx512".
bool cpu_runs_kernels(std::string_view level);
// "" picks the best level this CPU runs; a name forces that level (Error if unavailable).
const CpuKernels& select_cpu_kernels(std::string_view forced);

}  // namespace phidesk
