// AVX2 + FMA + F16C kernels. This file alone is compiled with -mavx2 -mfma -mf16c; nothing
// here runs unless cpu_has_avx2() said yes.
#include <immintrin.h>

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

// Four accumulators over 32-element steps, then an 8-wide step, then scalars: every dot in this
// file sums in this order. `load(i)` gives weights i..i+7 as floats, `one(i)` weight i.
template <class Load, class One>
float dot_by(Load load, One one, const float* x, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(load(i), _mm256_loadu_ps(x + i), s0);
        s1 = _mm256_fmadd_ps(load(i + 8), _mm256_loadu_ps(x + i + 8), s1);
        s2 = _mm256_fmadd_ps(load(i + 16), _mm256_loadu_ps(x + i + 16), s2);
        s3 = _mm256_fmadd_ps(load(i + 24), _mm256_loadu_ps(x + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(load(i), _mm256_loadu_ps(x + i), s0);
    float total = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; ++i) total += one(i) * x[i];
    return total;
}

float dot(const float* a, const float* b, int64_t n) {
    return dot_by([a](int64_t i) { return _mm256_loadu_ps(a + i); }, [a](int64_t i) { return a[i]; }, b, n);
}

void axpy(float a, const float* x, float* y, int64_t n) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; ++i) y[i] += a * x[i];
}

void f16_row(const uint16_t* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
    for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
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

__m256 load_f16(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
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

float dot_q8(const int8_t* w, float scale, const float* x, int64_t n) {
    const __m256 s = _mm256_set1_ps(scale);
    auto load = [w, s](int64_t i) {   // q * scale, as q8_row computes it
        return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(w + i)))), s);
    };
    return dot_by(load, [w, scale](int64_t i) { return float(w[i]) * scale; }, x, n);
}

// A group of 32 weights is exactly one 32-element step of dot_by: the four vectors of the group
// go to the four accumulators, so the sum has dot's order while each group is unpacked once.
float dot_q4(const uint8_t* w, const uint16_t* scales, const float* x, int64_t n) {
    static_assert(kQ4Group == 32, "one group per 32-element step");
    const __m128i mask = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
    __m256 s[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t g = 0; g < n / kQ4Group; ++g) {
        const __m256 scale = _mm256_set1_ps(_cvtsh_ss(scales[g]));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + g * 16));
        const __m128i lo = _mm_sub_epi8(_mm_and_si128(b, mask), eight);
        const __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(b, 4), mask), eight);
        const __m128i first = _mm_unpacklo_epi8(lo, hi), second = _mm_unpackhi_epi8(lo, hi);
        const __m128i parts[4] = {first, _mm_srli_si128(first, 8), second, _mm_srli_si128(second, 8)};
        const float* xg = x + g * kQ4Group;
        for (int k = 0; k < 4; ++k) {
            const __m256 wk = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(parts[k])), scale);   // as q4_row
            s[k] = _mm256_fmadd_ps(wk, _mm256_loadu_ps(xg + 8 * k), s[k]);
        }
    }
    return hsum(_mm256_add_ps(_mm256_add_ps(s[0], s[1]), _mm256_add_ps(s[2], s[3])));
}

// Three rows against one token, each row summed exactly as `dot` sums it; x is loaded once.
void dot_3rows(const float* const w[3], const float* x, int64_t n, float out[3]) {
    __m256 s[3][4];
    for (auto& r : s) r[0] = r[1] = r[2] = r[3] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 4; ++k) {
            const __m256 v = _mm256_loadu_ps(x + i + 8 * k);
            for (int r = 0; r < 3; ++r) s[r][k] = _mm256_fmadd_ps(_mm256_loadu_ps(w[r] + i + 8 * k), v, s[r][k]);
        }
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        for (int r = 0; r < 3; ++r) s[r][0] = _mm256_fmadd_ps(_mm256_loadu_ps(w[r] + i), v, s[r][0]);
    }
    for (int r = 0; r < 3; ++r) {
        float total = hsum(_mm256_add_ps(_mm256_add_ps(s[r][0], s[r][1]), _mm256_add_ps(s[r][2], s[r][3])));
        for (int64_t k = i; k < n; ++k) total += w[r][k] * x[k];
        out[r] = total;
    }
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

const CpuKernels kAvx2Kernels = {"avx2", dot,    axpy,   f16_row,   bf16_row, q8_row, q4_row, dot_f16,
                                 dot_bf16, dot_q8, dot_q4, dot_3rows, sum,      fma_loop};

}  // namespace phidesk
