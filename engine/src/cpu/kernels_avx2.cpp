// AVX2 + FMA + F16C kernels. This file alone is compiled with -mavx2 -mfma -mf16c; nothing
// here runs unless cpu_runs_kernels("avx2") said yes.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "kernels.h"
#include "phidesk/tensor.h"

namespace phidesk {
namespace {

float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Eight stored elements as floats, and one.
__m256 load_f32(const float* p) { return _mm256_loadu_ps(p); }
__m256 load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
template <class T>
float widen(T v) { return float(v); }

// Four accumulators per row over 32-element steps, then an 8-wide step, then scalars: every dot
// in this file but the Q4 one sums in this order. The scalars are explicit FMAs, as the vectors
// are: left to contract `total += w * x` itself, GCC fused it for one element type and not for
// another (it vectorised float32's products), and F16 rows' dots then differed from float32's.
// R rows go at once (each with its own accumulators, so each sums exactly as alone), reading
// each piece of x once for all of them. `load(r, i)` gives weights i..i+7 of row r as floats,
// `one(r, i)` its weight i.
template <int R, class Load, class One>
void dot_rows_by(Load load, One one, const float* x, int64_t n, float out[R]) {
    __m256 s[R][4];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) s[r][0] = s[r][1] = s[r][2] = s[r][3] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32)
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
            for (int j = 0; j < 4; ++j) s[r][j] = _mm256_fmadd_ps(load(r, i + 8 * j), _mm256_loadu_ps(x + i + 8 * j), s[r][j]);
    for (; i + 8 <= n; i += 8)
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) s[r][0] = _mm256_fmadd_ps(load(r, i), _mm256_loadu_ps(x + i), s[r][0]);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
        float total = hsum(_mm256_add_ps(_mm256_add_ps(s[r][0], s[r][1]), _mm256_add_ps(s[r][2], s[r][3])));
        for (int64_t k = i; k < n; ++k) total = std::fma(one(r, k), x[k], total);
        out[r] = total;
    }
}

template <class Load, class One>
float dot_by(Load load, One one, const float* x, int64_t n) {
    float out[1];
    dot_rows_by<1>([&](int, int64_t i) { return load(i); }, [&](int, int64_t i) { return one(i); }, x, n, out);
    return out[0];
}

float dot(const float* a, const float* b, int64_t n) {
    return dot_by([a](int64_t i) { return _mm256_loadu_ps(a + i); }, [a](int64_t i) { return a[i]; }, b, n);
}

// The eight horizontal sums of a[0..7], in order, in one vector.
__m256 hsum8(const __m256 a[8]) {
    const __m256 s03 = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));   // halves of sums 0-3
    const __m256 s47 = _mm256_hadd_ps(_mm256_hadd_ps(a[4], a[5]), _mm256_hadd_ps(a[6], a[7]));
    return _mm256_add_ps(_mm256_permute2f128_ps(s03, s47, 0x20), _mm256_permute2f128_ps(s03, s47, 0x31));
}

// Eight keys at a time, one accumulator each: a short dot (80 floats for phi-2) alone spends
// more on its reduction than on its products, and eight share one. T the cache's element type,
// `load(p)` 8 of them as floats, `one(v)` one (as rows8 below).
template <class T, auto load, auto one>
void key_scores(const float* q, const T* keys, int64_t stride, int64_t positions, int64_t d, float* scores) {
    int64_t j = 0;
    for (; j + 8 <= positions; j += 8) {
        const T* k = keys + j * stride;
        __m256 a[8];
        for (int r = 0; r < 8; ++r) a[r] = _mm256_setzero_ps();
        int64_t i = 0;
        for (; i + 8 <= d; i += 8) {
            const __m256 qi = _mm256_loadu_ps(q + i);
#pragma GCC unroll 8
            for (int r = 0; r < 8; ++r) a[r] = _mm256_fmadd_ps(qi, load(k + r * stride + i), a[r]);
        }
        _mm256_storeu_ps(scores + j, hsum8(a));
        for (; i < d; ++i)
            for (int r = 0; r < 8; ++r) scores[j + r] = std::fma(q[i], one(k[r * stride + i]), scores[j + r]);
    }
    for (; j < positions; ++j) {
        const T* k = keys + j * stride;
        scores[j] = dot_by([k](int64_t i) { return load(k + i); }, [k](int64_t i) { return one(k[i]); }, q, d);
    }
}

// out = sum_j p[j] values[j], 64 dimensions at a time kept in registers over all positions.
template <class T, auto load, auto one>
void weighted_sum(const float* p, const T* values, int64_t stride, int64_t positions, int64_t d, float* out) {
    int64_t i0 = 0;
    while (d - i0 >= 8) {
        const int vectors = int(std::min<int64_t>(64, d - i0) / 8);
        __m256 a[8];
        for (int v = 0; v < 8; ++v) a[v] = _mm256_setzero_ps();
        for (int64_t j = 0; j < positions; ++j) {
            const __m256 pj = _mm256_set1_ps(p[j]);
            const T* row = values + j * stride + i0;
#pragma GCC unroll 8
            for (int v = 0; v < 8; ++v)
                if (v < vectors) a[v] = _mm256_fmadd_ps(pj, load(row + 8 * v), a[v]);
        }
        for (int v = 0; v < vectors; ++v) _mm256_storeu_ps(out + i0 + 8 * v, a[v]);
        i0 += 8 * vectors;
    }
    for (int64_t i = i0; i < d; ++i) {
        float sum = 0.0f;
        for (int64_t j = 0; j < positions; ++j) sum = std::fma(p[j], one(values[j * stride + i]), sum);
        out[i] = sum;
    }
}

void f16_row(const uint16_t* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
    for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}

// min and max return their second operand when either is NaN: x goes second, so NaN stays NaN.
void f32_to_f16_saturating(const float* src, uint16_t* dst, int64_t n) {
    const __m256 hi = _mm256_set1_ps(kLargestF16), lo = _mm256_set1_ps(-kLargestF16);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_max_ps(lo, _mm256_min_ps(hi, _mm256_loadu_ps(src + i)));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; ++i) dst[i] = f32_to_f16(std::clamp(src[i], -kLargestF16, kLargestF16));
}

void bf16_row(const uint16_t* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
    }
    for (; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}

void q8_row(const int8_t* q, float scale, float* dst, int64_t n) {
    const __m256 vs = _mm256_set1_ps(scale);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i w = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + i)));
        _mm256_storeu_ps(dst + i, _mm256_mul_ps(_mm256_cvtepi32_ps(w), vs));
    }
    for (; i < n; ++i) dst[i] = float(q[i]) * scale;
}

void q4_row(const uint8_t* q, const uint16_t* scales, float* dst, int64_t n) {
    static_assert(kQ4Group == 32, "one 16-byte load per group");
    const __m128i mask = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
    for (int64_t g = 0; g < n / kQ4Group; ++g) {
        const __m256 s = _mm256_set1_ps(_cvtsh_ss(scales[g]));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + g * 16));
        const __m128i lo = _mm_sub_epi8(_mm_and_si128(b, mask), eight);
        const __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(b, 4), mask), eight);
        const __m128i first = _mm_unpacklo_epi8(lo, hi), second = _mm_unpackhi_epi8(lo, hi);   // element order
        float* d = dst + g * kQ4Group;
        _mm256_storeu_ps(d, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(first)), s));
        _mm256_storeu_ps(d + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(first, 8))), s));
        _mm256_storeu_ps(d + 16, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(second)), s));
        _mm256_storeu_ps(d + 24, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(second, 8))), s));
    }
}

__m256 load_bf16(const uint16_t* p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

float dot_f16(const uint16_t* w, const float* x, int64_t n) {
    return dot_by([w](int64_t i) { return load_f16(w + i); }, [w](int64_t i) { return f16_to_f32(w[i]); }, x, n);
}

float dot_bf16(const uint16_t* w, const float* x, int64_t n) {
    return dot_by([w](int64_t i) { return load_bf16(w + i); }, [w](int64_t i) { return bf16_to_f32(w[i]); }, x, n);
}

__m256 load_q8(const int8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

float dot_q8(const int8_t* w, float scale, const float* x, int64_t n) {
    return scale * dot_by([w](int64_t i) { return load_q8(w + i); }, [w](int64_t i) { return float(w[i]); }, x, n);
}

// Per group of 32 (16 bytes): each 8-byte half widens to 8 dwords whose low nibbles are 8 even
// elements and high nibbles the 8 odd ones, matching xq; the group's sum is then scaled once.
// R rows at once, as dot_rows_by: row r's bytes start at w + r * row_bytes, its scales at
// scales + r * row_groups.
template <int R>
void dot_q4_rows(const uint8_t* w, int64_t row_bytes, const uint16_t* scales, int64_t row_groups, const float* xq,
                 int64_t n, float out[R]) {
    static_assert(kQ4Group == 32, "two 8-byte halves per group");
    const __m256i low = _mm256_set1_epi32(0xF), eight = _mm256_set1_epi32(8);
    auto level = [eight](__m256i q) { return _mm256_cvtepi32_ps(_mm256_sub_epi32(q, eight)); };
    auto group = [&](int r, int64_t g) {
        const uint8_t* b = w + r * row_bytes + g * 16;
        const __m256i d0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b)));
        const __m256i d1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + 8)));
        const float* x = xq + g * kQ4Group;
        __m256 even = _mm256_mul_ps(level(_mm256_and_si256(d0, low)), _mm256_loadu_ps(x));
        __m256 odd = _mm256_mul_ps(level(_mm256_srli_epi32(d0, 4)), _mm256_loadu_ps(x + 16));
        even = _mm256_fmadd_ps(level(_mm256_and_si256(d1, low)), _mm256_loadu_ps(x + 8), even);
        odd = _mm256_fmadd_ps(level(_mm256_srli_epi32(d1, 4)), _mm256_loadu_ps(x + 24), odd);
        return _mm256_add_ps(even, odd);
    };
    auto scale = [&](int r, int64_t g) { return _mm256_set1_ps(_cvtsh_ss(scales[r * row_groups + g])); };
    __m256 s0[R], s1[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) s0[r] = s1[r] = _mm256_setzero_ps();
    const int64_t groups = n / kQ4Group;
    int64_t g = 0;
    for (; g + 2 <= groups; g += 2)
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            s0[r] = _mm256_fmadd_ps(group(r, g), scale(r, g), s0[r]);
            s1[r] = _mm256_fmadd_ps(group(r, g + 1), scale(r, g + 1), s1[r]);
        }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
        if (g < groups) s0[r] = _mm256_fmadd_ps(group(r, g), scale(r, g), s0[r]);
        out[r] = hsum(_mm256_add_ps(s0[r], s1[r]));
    }
}

float dot_q4(const uint8_t* w, const uint16_t* scales, const float* xq, int64_t n) {
    float out[1];
    dot_q4_rows<1>(w, 0, scales, 0, xq, n, out);
    return out[0];
}

// Rows o..o+7 of W: T the stored element, `load(p)` 8 of them as floats, `one(v)` one. Template
// arguments, not function arguments: F16 and BF16 share a loader type, and through a pointer
// GCC called the loader for every 8 weights.
template <class T, auto load, auto one>
void rows8(const TensorView& W, int64_t o, const float* x, float out[8]) {
    const int64_t n = W.shape[1];
    const T* w = static_cast<const T*>(W.data) + o * n;
    dot_rows_by<8>([=](int r, int64_t i) { return load(w + r * n + i); }, [=](int r, int64_t i) { return one(w[r * n + i]); },
                   x, n, out);
}

void dot8(const TensorView& W, int64_t o, const float* x, float out[8]) {
    const int64_t n = W.shape[1];
    switch (W.dtype) {
    case DType::F32: return rows8<float, load_f32, widen<float>>(W, o, x, out);
    case DType::F16: return rows8<uint16_t, load_f16, f16_to_f32>(W, o, x, out);
    case DType::BF16: return rows8<uint16_t, load_bf16, bf16_to_f32>(W, o, x, out);
    case DType::Q8:
        rows8<int8_t, load_q8, widen<int8_t>>(W, o, x, out);
        for (int r = 0; r < 8; ++r) out[r] = f16_to_f32(W.scales[o + r]) * out[r];   // as dot_q8: scale * sum
        return;
    case DType::Q4:
        return dot_q4_rows<8>(static_cast<const uint8_t*>(W.data) + o * n / 2, n / 2, W.scales + o * (n / kQ4Group),
                              n / kQ4Group, x, n, out);
    }
}

// Eight panel entries as floats: a float32 panel's as stored, an F16 panel's converted.
__m256 panel8(const float* p) { return _mm256_loadu_ps(p); }
__m256 panel8(const uint16_t* p) { return load_f16(p); }

// acc[t][r] += sum over k < n of panel[k][r] * x[t][k], k in order. 16 weight rows packed k-major
// (two vectors per k) against 6 tokens (one broadcast each): 12 accumulators in registers, and
// 8 loads per 12 FMAs, so the loop runs at the FMA limit from L1/L2. An F16 panel's two
// conversions per k come free beside the FMAs (on Zen 4, 12 FMAs and 2 conversions of loaded
// halves took 5.9-6.3 cycles in a loop, the FMAs alone 5.9).
template <class P>
void gemm_16x6(const P* panel, const float* const x[6], int64_t n, float* const acc[6]) {
    __m256 a[6][2];
#pragma GCC unroll 6
    for (int t = 0; t < 6; ++t) a[t][0] = _mm256_loadu_ps(acc[t]), a[t][1] = _mm256_loadu_ps(acc[t] + 8);
    const float *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3], *x4 = x[4], *x5 = x[5];
    for (int64_t k = 0; k < n; ++k) {
        const __m256 lo = panel8(panel + 16 * k), hi = panel8(panel + 16 * k + 8);
        const float* xs[6] = {x0 + k, x1 + k, x2 + k, x3 + k, x4 + k, x5 + k};
#pragma GCC unroll 6
        for (int t = 0; t < 6; ++t) {
            const __m256 v = _mm256_broadcast_ss(xs[t]);
            a[t][0] = _mm256_fmadd_ps(lo, v, a[t][0]);
            a[t][1] = _mm256_fmadd_ps(hi, v, a[t][1]);
        }
    }
#pragma GCC unroll 6
    for (int t = 0; t < 6; ++t) _mm256_storeu_ps(acc[t], a[t][0]), _mm256_storeu_ps(acc[t] + 8, a[t][1]);
}

// exp(x) for x in [-88, 88]: x = n ln2 + r with |r| <= ln2/2, exp(r) by its degree-6 Taylor
// polynomial (relative error < 2e-7 there), times 2^n built in the exponent bits.
__m256 exp_ps(__m256 x) {
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);   // ln2 in two parts, so
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);        // r keeps its low bits
    __m256 p = _mm256_set1_ps(1.0f / 720);
    for (float c : {1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f}) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// gelu_new(v) = 0.5 v (1 + tanh(u)), u = sqrt(2/pi) (v + 0.044715 v^3), with
// tanh(u) = 1 - 2 / (exp(2u) + 1); 2u is clamped to +-40, where tanh is +-1 in float.
void gelu_new(float* x, int64_t n) {
    int64_t i = 0;
    const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f), lim = _mm256_set1_ps(40.0f);
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 inner = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(0.044715f), v), _mm256_mul_ps(v, v), v);
        __m256 two_u = _mm256_mul_ps(_mm256_set1_ps(2.0f * 0.7978845608028654f), inner);
        two_u = _mm256_max_ps(_mm256_min_ps(two_u, lim), _mm256_sub_ps(_mm256_setzero_ps(), lim));
        const __m256 tanh = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(exp_ps(two_u), one)));
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, tanh)));
    }
    for (; i < n; ++i) x[i] = gelu_new_scalar(x[i]);
}

// softmax(x * scale) in place, eight lanes at a time: the scaled values and their max, then
// exp(x - max) and its sum, then the normalisation. exp_ps holds for arguments down to -88, so
// they are clamped there: exp(-87.3) is below 1e-38, nothing beside the max's exp(0) = 1.
void softmax(float* x, int64_t n, float scale) {
    const __m256 vscale = _mm256_set1_ps(scale);
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), vscale);
        _mm256_storeu_ps(x + i, v);
        vmax = _mm256_max_ps(vmax, v);
    }
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    float max = std::max(_mm_cvtss_f32(m), _mm_cvtss_f32(_mm_movehdup_ps(m)));
    for (int64_t j = i; j < n; ++j) max = std::max(max, x[j] *= scale);
    const __m256 vbase = _mm256_set1_ps(max), floor = _mm256_set1_ps(-87.3f);
    __m256 vsum = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 e = exp_ps(_mm256_max_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vbase), floor));
        _mm256_storeu_ps(x + i, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    float sum = hsum(vsum);
    for (int64_t j = i; j < n; ++j) sum += (x[j] = std::exp(x[j] - max));
    const __m256 vinv = _mm256_set1_ps(1.0f / sum);
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
    for (int64_t j = i; j < n; ++j) x[j] *= 1.0f / sum;
}

// panel[k * 16 + r] = row r's element k: 8 x 8 blocks transposed in registers. `load(r, k)`
// gives elements k..k+7 of row r as floats, `one(r, k)` element k.
template <class Load, class One>
void pack_rows(Load load, One one, int64_t n, float* panel) {
    int64_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int half = 0; half < 2; ++half) {
            __m256 v[8], u[8];
            for (int i = 0; i < 8; ++i) v[i] = load(8 * half + i, k);
            for (int i = 0; i < 8; i += 2) {   // pairs of rows interleaved
                u[i] = _mm256_unpacklo_ps(v[i], v[i + 1]);
                u[i + 1] = _mm256_unpackhi_ps(v[i], v[i + 1]);
            }
            for (int i = 0; i < 8; i += 4) {   // groups of four rows
                v[i] = _mm256_shuffle_ps(u[i], u[i + 2], 0x44);
                v[i + 1] = _mm256_shuffle_ps(u[i], u[i + 2], 0xEE);
                v[i + 2] = _mm256_shuffle_ps(u[i + 1], u[i + 3], 0x44);
                v[i + 3] = _mm256_shuffle_ps(u[i + 1], u[i + 3], 0xEE);
            }
            // v[0..3] hold columns {0,4}, {1,5}, {2,6}, {3,7} of rows 0-3, v[4..7] of rows 4-7.
            for (int c = 0; c < 4; ++c) {
                _mm256_storeu_ps(panel + (k + c) * 16 + 8 * half, _mm256_permute2f128_ps(v[c], v[c + 4], 0x20));
                _mm256_storeu_ps(panel + (k + c + 4) * 16 + 8 * half, _mm256_permute2f128_ps(v[c], v[c + 4], 0x31));
            }
        }
    for (; k < n; ++k)
        for (int r = 0; r < 16; ++r) panel[k * 16 + r] = one(r, k);
}

void pack_panel(const float* const rows[16], int64_t n, float* panel) {
    pack_rows([rows](int r, int64_t k) { return _mm256_loadu_ps(rows[r] + k); }, [rows](int r, int64_t k) { return rows[r][k]; },
              n, panel);
}

// t[b] = byte b of rows 0..15, from t[r] = bytes 0..15 of row r: interleaves of 8, 16, 32 and
// 64 bits, each round pairing rows twice as far apart.
void transpose_16x16_bytes(__m128i t[16]) {
    __m128i a[16], b[16];
    for (int i = 0; i < 8; ++i)   // rows 2i, 2i+1: bytes 0-7, then 8-15
        a[i] = _mm_unpacklo_epi8(t[2 * i], t[2 * i + 1]), a[i + 8] = _mm_unpackhi_epi8(t[2 * i], t[2 * i + 1]);
    for (int i = 0; i < 4; ++i)   // b[4c + i]: rows 4i..4i+3, bytes 4c..4c+3
        for (int h = 0; h < 2; ++h) {
            b[8 * h + i] = _mm_unpacklo_epi16(a[8 * h + 2 * i], a[8 * h + 2 * i + 1]);
            b[8 * h + i + 4] = _mm_unpackhi_epi16(a[8 * h + 2 * i], a[8 * h + 2 * i + 1]);
        }
    for (int c = 0; c < 4; ++c) {   // rows 0-7 and 8-15 of bytes 4c..4c+3, then all 16 rows
        const __m128i* q = b + 4 * c;
        const __m128i lo0 = _mm_unpacklo_epi32(q[0], q[1]), hi0 = _mm_unpackhi_epi32(q[0], q[1]);
        const __m128i lo1 = _mm_unpacklo_epi32(q[2], q[3]), hi1 = _mm_unpackhi_epi32(q[2], q[3]);
        t[4 * c] = _mm_unpacklo_epi64(lo0, lo1), t[4 * c + 1] = _mm_unpackhi_epi64(lo0, lo1);
        t[4 * c + 2] = _mm_unpacklo_epi64(hi0, hi1), t[4 * c + 3] = _mm_unpackhi_epi64(hi0, hi1);
    }
}

// Rows' Q4 weights into a panel, one group (32 columns, 16 bytes a row) at a time: the bytes are
// transposed first (byte b of every row holds columns 2b and 2b+1), so each column's 16 levels
// come from one vector of nibbles and meet their rows' scales in two exact FMAs, level * scale
// - 8 * scale; the result is each weight exactly as q4_row gives it. Against converting 8
// weights of one row at a time and transposing floats, about half the operations.
void pack_q4_rows(const uint8_t* const rows[16], const uint16_t* const scales[16], int64_t n, float* panel) {
    const __m128i low = _mm_set1_epi8(0xF);
    for (int64_t g = 0; g < n / kQ4Group; ++g) {
        __m128i t[16];
        alignas(16) uint16_t h[16];
        for (int r = 0; r < 16; ++r)
            t[r] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[r] + g * 16)), h[r] = scales[r][g];
        transpose_16x16_bytes(t);
        const __m256 s[2] = {_mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(h))),
                             _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(h + 8)))};
        const __m256 minus8 = _mm256_set1_ps(-8.0f);
        const __m256 offset[2] = {_mm256_mul_ps(s[0], minus8), _mm256_mul_ps(s[1], minus8)};
        auto column = [&](float* out, __m128i nibbles) {   // 16 rows' nibbles -> 16 weights
            const __m128i halves[2] = {nibbles, _mm_srli_si128(nibbles, 8)};
            for (int i = 0; i < 2; ++i) {
                const __m256 level = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(halves[i]));   // 0..15
                _mm256_storeu_ps(out + 8 * i, _mm256_fmadd_ps(level, s[i], offset[i]));
            }
        };
        float* out = panel + g * kQ4Group * 16;
        for (int b = 0; b < 16; ++b) {
            column(out + 2 * b * 16, _mm_and_si128(t[b], low));
            column(out + (2 * b + 1) * 16, _mm_and_si128(_mm_srli_epi16(t[b], 4), low));
        }
    }
}

// Rows o0..o0+15 of W straight from their stored form, each weight exactly as the row
// conversions above give it: no float32 copy of the rows on the way. Each panel row's start is
// found once (past the weight's end, the last row's again).
void pack_weights(const TensorView& W, int64_t o0, float* panel) {
    const int64_t n = W.shape[1];
    int64_t rows[16];
    for (int r = 0; r < 16; ++r) rows[r] = std::min(o0 + r, W.shape[0] - 1);
    auto starts = [&](const auto* base, int64_t per_row) {   // row r's first element, stored `per_row` apart
        std::array<decltype(base), 16> p;
        for (int r = 0; r < 16; ++r) p[size_t(r)] = base + rows[r] * per_row;
        return p;
    };
    auto one = [&](int r, int64_t k) { return weight_value(W, rows[r], k); };   // the tail past the last 8
    switch (W.dtype) {
    case DType::F32: {
        const auto w = starts(static_cast<const float*>(W.data), n);
        return pack_rows([&](int r, int64_t k) { return _mm256_loadu_ps(w[size_t(r)] + k); }, one, n, panel);
    }
    case DType::F16: {
        const auto w = starts(static_cast<const uint16_t*>(W.data), n);
        return pack_rows([&](int r, int64_t k) { return load_f16(w[size_t(r)] + k); }, one, n, panel);
    }
    case DType::BF16: {
        const auto w = starts(static_cast<const uint16_t*>(W.data), n);
        return pack_rows([&](int r, int64_t k) { return load_bf16(w[size_t(r)] + k); }, one, n, panel);
    }
    case DType::Q8: {
        const auto w = starts(static_cast<const int8_t*>(W.data), n);
        float scale[16];
        for (int r = 0; r < 16; ++r) scale[r] = f16_to_f32(W.scales[rows[r]]);
        return pack_rows([&](int r, int64_t k) { return _mm256_mul_ps(load_q8(w[size_t(r)] + k), _mm256_set1_ps(scale[r])); },
                         one, n, panel);
    }
    case DType::Q4: {
        const auto w = starts(static_cast<const uint8_t*>(W.data), n / 2);
        const auto scales = starts(W.scales, n / kQ4Group);
        return pack_q4_rows(w.data(), scales.data(), n, panel);
    }
    }
}

// panel[k * 16 + r] = the stored half of row o0 + r (the last row past the end), k < n: per 8
// columns, each half of the 16 rows is an 8 x 8 transpose of 16-bit values in three rounds of
// interleaves (rows in pairs, then fours, then eights).
void pack_f16_weights(const TensorView& W, int64_t o0, uint16_t* panel) {
    const int64_t n = W.shape[1];
    const uint16_t* rows[16];
    for (int r = 0; r < 16; ++r) rows[r] = static_cast<const uint16_t*>(W.data) + std::min(o0 + r, W.shape[0] - 1) * n;
    int64_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int half = 0; half < 2; ++half) {
            __m128i v[8], u[8];
            for (int i = 0; i < 8; ++i)
                v[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[8 * half + i] + k));
            for (int i = 0; i < 8; i += 2)   // rows i, i+1 interleaved: columns 0-3, then 4-7
                u[i] = _mm_unpacklo_epi16(v[i], v[i + 1]), u[i + 1] = _mm_unpackhi_epi16(v[i], v[i + 1]);
            for (int i = 0; i < 8; i += 4) {   // four rows: columns {0,1}, {2,3}, {4,5}, {6,7}
                v[i] = _mm_unpacklo_epi32(u[i], u[i + 2]), v[i + 1] = _mm_unpackhi_epi32(u[i], u[i + 2]);
                v[i + 2] = _mm_unpacklo_epi32(u[i + 1], u[i + 3]), v[i + 3] = _mm_unpackhi_epi32(u[i + 1], u[i + 3]);
            }
            for (int c = 0; c < 4; ++c) {   // eight rows: one column each
                uint16_t* out = panel + (k + 2 * c) * 16 + 8 * half;
                _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_unpacklo_epi64(v[c], v[c + 4]));
                _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), _mm_unpackhi_epi64(v[c], v[c + 4]));
            }
        }
    for (; k < n; ++k)
        for (int r = 0; r < 16; ++r) panel[k * 16 + r] = rows[r][k];
}

float sum(const float* x, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    for (int64_t i = 0; i + 32 <= n; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(x + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_loadu_ps(x + i + 24));
    }
    return hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

// 12 independent FMA chains: enough to cover the FMA latency on both ports.
float fma_loop(int64_t iterations) {
    __m256 a[12];
    const __m256 m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
    for (int v = 0; v < 12; ++v) a[v] = _mm256_set1_ps(float(v));
    for (int64_t k = 0; k < iterations; ++k)
        for (int v = 0; v < 12; ++v) a[v] = _mm256_fmadd_ps(a[v], m, c);
    __m256 s = a[0];
    for (int v = 1; v < 12; ++v) s = _mm256_add_ps(s, a[v]);
    return hsum(s);
}

}  // namespace

const CpuKernels kAvx2Kernels = {"avx2",
                                 dot,
                                 key_scores<float, load_f32, widen<float>>,
                                 weighted_sum<float, load_f32, widen<float>>,
                                 key_scores<uint16_t, load_f16, f16_to_f32>,
                                 weighted_sum<uint16_t, load_f16, f16_to_f32>,
                                 f16_row,   f32_to_f16_saturating, bf16_row, q8_row, q4_row,
                                 dot_f16,  dot_bf16,   dot_q8,         dot_q4,    q4_order_pairs, dot8, pack_panel,
                                 pack_weights, gemm_16x6<float>, pack_f16_weights, gemm_16x6<uint16_t>, gelu_new,
                                 softmax, sum, fma_loop};

}  // namespace phidesk
