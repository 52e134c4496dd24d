// Plain C++ kernels: the fallback on any CPU and the reference the SIMD levels are tested against.
#include <algorithm>
#include <cmath>

#include "kernels.h"
#include "phidesk/tensor.h"

namespace phidesk {
namespace {

// Eight partial sums, so rounding behaves much like the SIMD kernels' lanes (their exact order
// differs). `load(i)` gives weight i.
template <class Load>
float dot_by(Load load, const float* x, int64_t n) {
    float s[8] = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j) s[j] += load(i + j) * x[i + j];
    float total = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    for (; i < n; ++i) total += load(i) * x[i];
    return total;
}

float dot(const float* a, const float* b, int64_t n) {
    return dot_by([a](int64_t i) { return a[i]; }, b, n);
}

// An element stored as float32 or float16 (a KV cache's, a weight panel's) as a float.
float as_float(float v) { return v; }
float as_float(uint16_t h) { return f16_to_f32(h); }

template <class T>
void key_scores(const float* q, const T* keys, int64_t stride, int64_t positions, int64_t d, float* scores) {
    for (int64_t j = 0; j < positions; ++j) {
        const T* k = keys + j * stride;
        scores[j] = dot_by([k](int64_t i) { return as_float(k[i]); }, q, d);
    }
}

template <class T>
void weighted_sum(const float* p, const T* values, int64_t stride, int64_t positions, int64_t d, float* out) {
    std::fill_n(out, d, 0.0f);
    for (int64_t j = 0; j < positions; ++j)
        for (int64_t i = 0; i < d; ++i) out[i] += p[j] * as_float(values[j * stride + i]);
}

void f16_row(const uint16_t* src, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}

void f32_to_f16_saturating(const float* src, uint16_t* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_f16(std::clamp(src[i], -kLargestF16, kLargestF16));
}

void bf16_row(const uint16_t* src, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}

void q8_row(const int8_t* q, float scale, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = float(q[i]) * scale;
}

void q4_row(const uint8_t* q, const uint16_t* scales, float* dst, int64_t n) {
    for (int64_t g = 0; g < n / kQ4Group; ++g) {
        const float s = f16_to_f32(scales[g]);
        for (int64_t i = 0; i < kQ4Group / 2; ++i) {
            const uint8_t b = q[g * kQ4Group / 2 + i];
            dst[g * kQ4Group + 2 * i] = float(int(b & 0xF) - 8) * s;
            dst[g * kQ4Group + 2 * i + 1] = float(int(b >> 4) - 8) * s;
        }
    }
}

float dot_f16(const uint16_t* w, const float* x, int64_t n) {
    return dot_by([w](int64_t i) { return f16_to_f32(w[i]); }, x, n);
}

float dot_bf16(const uint16_t* w, const float* x, int64_t n) {
    return dot_by([w](int64_t i) { return bf16_to_f32(w[i]); }, x, n);
}

float dot_q8(const int8_t* w, float scale, const float* x, int64_t n) {
    return scale * dot_by([w](int64_t i) { return float(w[i]); }, x, n);
}

float dot_q4(const uint8_t* w, const uint16_t* scales, const float* xq, int64_t n) {
    float total = 0.0f;
    for (int64_t g = 0; g < n / kQ4Group; ++g) {
        const uint8_t* b = w + g * kQ4Group / 2;
        const float* even = xq + g * kQ4Group;
        const float* odd = even + kQ4Group / 2;
        float sum = 0.0f;
        for (int64_t i = 0; i < kQ4Group / 2; ++i)
            sum += float(int(b[i] & 0xF) - 8) * even[i] + float(int(b[i] >> 4) - 8) * odd[i];
        total += sum * f16_to_f32(scales[g]);
    }
    return total;
}

// Eight one-row dots: there are no vectors here whose loads the rows could share.
void dot8(const TensorView& W, int64_t o, const float* x, float out[8]) {
    for (int r = 0; r < 8; ++r) out[r] = dot_row(kPortableKernels, W, o + r, x);
}

template <class P>
void gemm_16x6(const P* panel, const float* const x[6], int64_t n, float* const acc[6]) {
    for (int t = 0; t < 6; ++t)
        for (int64_t k = 0; k < n; ++k)
            for (int r = 0; r < 16; ++r) acc[t][r] += as_float(panel[16 * k + r]) * x[t][k];
}

void pack_panel(const float* const rows[16], int64_t n, float* panel) {
    for (int64_t k = 0; k < n; ++k)
        for (int r = 0; r < 16; ++r) panel[k * 16 + r] = rows[r][k];
}

void pack_weights(const TensorView& W, int64_t o0, float* panel) {
    for (int64_t k = 0; k < W.shape[1]; ++k)
        for (int r = 0; r < 16; ++r) panel[k * 16 + r] = weight_value(W, std::min(o0 + r, W.shape[0] - 1), k);
}

void pack_f16_weights(const TensorView& W, int64_t o0, uint16_t* panel) {
    const auto* w = static_cast<const uint16_t*>(W.data);
    for (int64_t k = 0; k < W.shape[1]; ++k)
        for (int r = 0; r < 16; ++r) panel[k * 16 + r] = w[std::min(o0 + r, W.shape[0] - 1) * W.shape[1] + k];
}

void softmax(float* x, int64_t n, float scale) {
    float max = -INFINITY;
    for (int64_t j = 0; j < n; ++j) max = std::max(max, x[j] *= scale);
    float sum = 0.0f;
    for (int64_t j = 0; j < n; ++j) sum += (x[j] = std::exp(x[j] - max));
    const float inv = 1.0f / sum;
    for (int64_t j = 0; j < n; ++j) x[j] *= inv;
}

void gelu_new(float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] = gelu_new_scalar(x[i]);
}

float sum(const float* x, int64_t n) {
    float s[8] = {};
    for (int64_t i = 0; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j) s[j] += x[i + j];
    return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

float fma_loop(int64_t iterations) {
    float a[12][8];
    for (int v = 0; v < 12; ++v)
        for (int j = 0; j < 8; ++j) a[v][j] = float(v + j);
    for (int64_t k = 0; k < iterations; ++k)
        for (int v = 0; v < 12; ++v)
            for (int j = 0; j < 8; ++j) a[v][j] = a[v][j] * 0.999f + 0.001f;
    float s = 0.0f;
    for (int v = 0; v < 12; ++v) s += a[v][0];
    return s;
}

}  // namespace

const CpuKernels kPortableKernels = {"portable", dot, key_scores<float>, weighted_sum<float>, key_scores<uint16_t>,
                                     weighted_sum<uint16_t>, f16_row,   f32_to_f16_saturating, bf16_row, q8_row, q4_row,
                                     dot_f16,    dot_bf16,   dot_q8,         dot_q4,    q4_order_pairs, dot8, pack_panel,
                                     pack_weights, gemm_16x6<float>, pack_f16_weights, gemm_16x6<uint16_t>, gelu_new,
                                     softmax, sum, fma_loop};

}  // namespace phidesk
