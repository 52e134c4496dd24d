// AVX-512 (F/BW/VL) dots: decode's F16/BF16/Q4 dots, of one row or eight, the float `dot`
// (F32 weights) and the input order its Q4 dots read; everything else is the AVX2 table's. This
// file alone is compiled with -mavx512f -mavx512bw -mavx512vl (plus the AVX2 flags); nothing here
// runs unless cpu_runs_kernels("avx512") said yes.
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
#include <cstdint>

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

// Four accumulators per row over 64-element steps, then 16-element steps, then one masked step:
// `dot` and the F16/BF16 dots sum in this same order. R rows go at once, each with its own
// accumulators (so each sums exactly as alone), reading each piece of x once for all of them.
// `load(r, i, mask)` gives weights i..i+15 of row r as floats (lanes outside the mask zero).
template <int R, class Load>
void dot_rows_by(Load load, const float* x, int64_t n, float out[R]) {
    __m512 s[R][4];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) s[r][0] = s[r][1] = s[r][2] = s[r][3] = _mm512_setzero_ps();
    const __mmask16 all = 0xFFFF;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64)
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
            for (int j = 0; j < 4; ++j)
                s[r][j] = _mm512_fmadd_ps(load(r, i + 16 * j, all), _mm512_loadu_ps(x + i + 16 * j), s[r][j]);
    for (; i + 16 <= n; i += 16)
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) s[r][0] = _mm512_fmadd_ps(load(r, i, all), _mm512_loadu_ps(x + i), s[r][0]);
    if (i < n) {
        const __mmask16 m = first(n - i);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) s[r][1] = _mm512_fmadd_ps(load(r, i, m), load_f32(x + i, m), s[r][1]);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
        out[r] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s[r][0], s[r][1]), _mm512_add_ps(s[r][2], s[r][3])));
}

template <class Load>
float dot_by(Load load, const float* x, int64_t n) {
    float out[1];
    dot_rows_by<1>([&](int, int64_t i, __mmask16 m) { return load(i, m); }, x, n, out);
    return out[0];
}

float dot(const float* a, const float* b, int64_t n) {
    return dot_by([a](int64_t i, __mmask16 m) { return load_f32(a + i, m); }, b, n);
}

__m512 load_f16(const uint16_t* p, __mmask16 m) { return _mm512_cvtph_ps(load_16x16(p, m)); }
__m512 load_bf16(const uint16_t* p, __mmask16 m) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(load_16x16(p, m)), 16));
}

float dot_f16(const uint16_t* w, const float* x, int64_t n) {
    return dot_by([w](int64_t i, __mmask16 m) { return load_f16(w + i, m); }, x, n);
}

float dot_bf16(const uint16_t* w, const float* x, int64_t n) {
    return dot_by([w](int64_t i, __mmask16 m) { return load_bf16(w + i, m); }, x, n);
}

// Q4 in blocks of 128 elements (four groups, 64 bytes): dword j of a block holds its elements
// 8j..8j+7, nibble k element 8j+k, so the block's weights k of all 16 dwords are one vector:
// vpermps reads only the low 4 bits of each index, so the dwords shifted right by 4k pick those
// levels from a 16-entry table, and xq holds the block's x in the same order (q4_order_blocks).
// Against widening each group's 16 bytes first (per block four widening loads and four shifts,
// where this takes one load and seven shifts, and four scale products, where this takes one),
// this streamed 19.5-20.8 -> 22.4-24.0 GB/s on two threads over a 200 MB matrix. A block's
// four group sums sit in lanes 0-3, 4-7, 8-11 and 12-15 and are scaled there by one vector. A
// last block of fewer groups loads only its own bytes and scales; xq's padding is zero.
// R rows at once, as dot_rows_by: row r's bytes start at w + r * row_bytes, its scales at
// scales + r * row_groups. One row at a time, each block also asks for the bytes 1 KB ahead (the
// row's, then the next row's: a matrix's rows are contiguous; a prefetch past the end does not
// fault). An int4 block computes long enough that the hardware prefetcher alone let memory idle:
// over int4 decode the one-row dot's samples fell 7-15% and decode rose 5-12% (six alternations);
// eight rows, eight streams, gained nothing, so they do without.
template <int R>
void dot_q4_rows(const uint8_t* w, int64_t row_bytes, const uint16_t* scales, int64_t row_groups, const float* xq,
                 int64_t n, float out[R]) {
    static_assert(kQ4Group == 32, "16 bytes per group, four groups per block");
    constexpr int64_t kAhead = 1024;
    const __m512 levels = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
    const __m512i group_of_lane = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    __m512 acc[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
    const int64_t groups = n / kQ4Group;
    for (int64_t g = 0; g < groups; g += 4) {
        const int64_t count = std::min<int64_t>(4, groups - g);
        const __mmask64 bytes = count == 4 ? ~__mmask64(0) : (__mmask64(1) << (16 * count)) - 1;
        const float* x = xq + g * kQ4Group;
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            if (R == 1)   // an address, not a pointer into the row: it may lie past the weight's end
                _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(w) + uintptr_t(g * 16 + kAhead)), _MM_HINT_T0);
            const __m512i d = _mm512_maskz_loadu_epi8(bytes, w + r * row_bytes + g * 16);
            auto level = [&](int k) { return _mm512_permutexvar_ps(k ? _mm512_srli_epi32(d, 4 * k) : d, levels); };
            __m512 p0 = _mm512_mul_ps(level(0), _mm512_loadu_ps(x));
            __m512 p1 = _mm512_mul_ps(level(1), _mm512_loadu_ps(x + 16));
#pragma GCC unroll 8
            for (int k = 2; k < 8; k += 2) {
                p0 = _mm512_fmadd_ps(level(k), _mm512_loadu_ps(x + 16 * k), p0);
                p1 = _mm512_fmadd_ps(level(k + 1), _mm512_loadu_ps(x + 16 * k + 16), p1);
            }
            const __m128 s = _mm_cvtph_ps(_mm_maskz_loadu_epi16(__mmask8((1u << count) - 1), scales + r * row_groups + g));
            acc[r] = _mm512_fmadd_ps(_mm512_add_ps(p0, p1), _mm512_permutexvar_ps(group_of_lane, _mm512_castps128_ps512(s)), acc[r]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) out[r] = _mm512_reduce_add_ps(acc[r]);
}

// xq[b + 16k + j] = x[b + 8j + k] for each block b: the order dot_q4_rows reads.
void q4_order_blocks(const float* x, int64_t n, float* xq) {
    static_assert(kQ4Block == 128, "16 dwords of 8 nibbles");
    for (int64_t b = 0; b < q4_input_floats(n); b += kQ4Block)
        for (int64_t k = 0; k < 8; ++k)
            for (int64_t j = 0; j < 16; ++j) xq[b + 16 * k + j] = b + 8 * j + k < n ? x[b + 8 * j + k] : 0.0f;
}

float dot_q4(const uint8_t* w, const uint16_t* scales, const float* xq, int64_t n) {
    float out[1];
    dot_q4_rows<1>(w, 0, scales, 0, xq, n, out);
    return out[0];
}

// Rows o..o+7 of W, T the stored element and `load(p, mask)` 16 of them as floats: a template
// argument, since through a pointer (F16 and BF16 share its type) GCC called it for every 16
// weights, and F16 fc2 streamed at 19-20 GB/s against fc1's 28-30.
template <class T, auto load>
void rows8(const TensorView& W, int64_t o, const float* x, float out[8]) {
    const int64_t n = W.shape[1];
    const T* w = static_cast<const T*>(W.data) + o * n;
    dot_rows_by<8>([=](int r, int64_t i, __mmask16 m) { return load(w + r * n + i, m); }, x, n, out);
}

void dot8(const TensorView& W, int64_t o, const float* x, float out[8]) {
    const int64_t n = W.shape[1];
    switch (W.dtype) {
    case DType::F32: return rows8<float, load_f32>(W, o, x, out);
    case DType::F16: return rows8<uint16_t, load_f16>(W, o, x, out);
    case DType::BF16: return rows8<uint16_t, load_bf16>(W, o, x, out);
    case DType::Q8: return kAvx2Kernels.dot8(W, o, x, out);   // this level's Q8 dot is AVX2's
    case DType::Q4:
        return dot_q4_rows<8>(static_cast<const uint8_t*>(W.data) + o * n / 2, n / 2, W.scales + o * (n / kQ4Group),
                              n / kQ4Group, x, n, out);
    }
}

}  // namespace

const CpuKernels& avx512_kernels() {
    static const CpuKernels k = [] {
        CpuKernels t = kAvx2Kernels;
        t.name = "avx512";
        t.dot = dot;   // F32 weights' dots, and the order the F16/BF16 dots promise
        t.dot_f16 = dot_f16;
        t.dot_bf16 = dot_bf16;
        t.dot_q4 = dot_q4;
        t.q4_input_order = q4_order_blocks;
        t.dot8 = dot8;
        return t;
    }();
    return k;
}

}  // namespace phidesk
