// AVX-512 (F/BW/VL) dots: decode's F16/BF16/Q4 dots and the float `dot` (attention, F32
// weights); everything else is the AVX2 table's. This file alone is compiled with -mavx512f
// -mavx512bw -mavx512vl (plus the AVX2 flags); nothing here runs unless cpu_runs_kernels("avx512")
// said yes.
//
// Decode streams every weight once per token, so its inner loop must keep up with memory while
// converting each weight to float: 16 lanes per instruction halve the instructions per weight,
// and a 16-entry vpermps table turns a nibble into its Q4 level in one step. Measured on Zen 4
// (2 threads, weights streaming from memory), two things stay AVX2: the Q8 dot, because widening
// 16 int8 to a zmm ran slower than two 8-wide steps (22 vs 30 GB/s on one 10240x2560 matrix; 6.9
// vs 8.7 tokens/s on the phi-2 shape), and prefill's panel kernel, because a 16x12 zmm version
// (one load, 12 broadcast FMAs per k) was no faster than gemm_16x6 (165-172 against 163-188
// GFLOP/s): Zen 4 executes a 512-bit FMA on its 256-bit units, so the peak is the same.
// GCC 12's own AVX-512 headers trip -Wuninitialized (their _mm512_undefined_* placeholders).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>

#include "kernels.h"
#include "phidesk/tensor.h"

namespace phidesk {
namespace {

inline __mmask16 first(int64_t count) { return __mmask16((1u << std::min<int64_t>(count, 16)) - 1); }

// Loads of 16 elements; the masked forms only for a row's tail, since a masked load does not
// fold into the widening instruction that consumes it.
__m512 load_f32(const float* p, __mmask16 m) { return m == 0xFFFF ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p); }
__m256i load_16x16(const uint16_t* p, __mmask16 m) {
    return m == 0xFFFF ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)) : _mm256_maskz_loadu_epi16(m, p);
}

// Four accumulators over 64-element steps, then 16-element steps, then one masked step: `dot`
// and the F16/BF16 dots sum in this same order. `load(i, mask)` gives weights i..i+15 as floats
// (lanes outside the mask zero).
template <class Load>
float dot_by(Load load, const float* x, int64_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    const __mmask16 all = 0xFFFF;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(load(i, all), _mm512_loadu_ps(x + i), s0);
        s1 = _mm512_fmadd_ps(load(i + 16, all), _mm512_loadu_ps(x + i + 16), s1);
        s2 = _mm512_fmadd_ps(load(i + 32, all), _mm512_loadu_ps(x + i + 32), s2);
        s3 = _mm512_fmadd_ps(load(i + 48, all), _mm512_loadu_ps(x + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(load(i, all), _mm512_loadu_ps(x + i), s0);
    if (i < n) {
        const __mmask16 m = first(n - i);
        s1 = _mm512_fmadd_ps(load(i, m), load_f32(x + i, m), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

float dot(const float* a, const float* b, int64_t n) {
    return dot_by([a](int64_t i, __mmask16 m) { return load_f32(a + i, m); }, b, n);
}

float dot_f16(const uint16_t* w, const float* x, int64_t n) {
    return dot_by([w](int64_t i, __mmask16 m) { return _mm512_cvtph_ps(load_16x16(w + i, m)); }, x, n);
}

float dot_bf16(const uint16_t* w, const float* x, int64_t n) {
    auto load = [w](int64_t i, __mmask16 m) {
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(load_16x16(w + i, m)), 16));
    };
    return dot_by(load, x, n);
}

// A group's 16 bytes widen to 16 dwords; vpermps reads only the low 4 bits of each index, so the
// dword itself picks the low nibble's level and the dword shifted right by 4 the high one's.
float dot_q4(const uint8_t* w, const uint16_t* scales, const float* xq, int64_t n) {
    static_assert(kQ4Group == 32, "16 bytes per group");
    const __m512 levels = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
    auto group = [&](int64_t g) {   // sum of the group's 32 levels times x, unscaled
        const __m512i d = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + g * 16)));
        const float* x = xq + g * kQ4Group;
        const __m512 even = _mm512_mul_ps(_mm512_permutexvar_ps(d, levels), _mm512_loadu_ps(x));
        return _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(d, 4), levels), _mm512_loadu_ps(x + 16), even);
    };
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    const int64_t groups = n / kQ4Group;
    for (int64_t g0 = 0; g0 < groups; g0 += 16) {   // 16 scales converted at a time
        alignas(64) float s[16];
        const int64_t count = std::min<int64_t>(16, groups - g0);
        _mm512_store_ps(s, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(first(count), scales + g0)));
        int64_t j = 0;
        for (; j + 2 <= count; j += 2) {
            s0 = _mm512_fmadd_ps(group(g0 + j), _mm512_set1_ps(s[j]), s0);
            s1 = _mm512_fmadd_ps(group(g0 + j + 1), _mm512_set1_ps(s[j + 1]), s1);
        }
        if (j < count) s0 = _mm512_fmadd_ps(group(g0 + j), _mm512_set1_ps(s[j]), s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

}  // namespace

const CpuKernels& avx512_kernels() {
    static const CpuKernels k = [] {
        CpuKernels t = kAvx2Kernels;
        t.name = "avx512";
        t.dot = dot;   // attention's dots, and the order the F16/BF16 dots promise
        t.dot_f16 = dot_f16;
        t.dot_bf16 = dot_bf16;
        t.dot_q4 = dot_q4;
        return t;
    }();
    return k;
}

}  // namespace phidesk
