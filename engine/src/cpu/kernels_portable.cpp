// Plain C++ kernels: the fallback on any CPU and the reference the SIMD levels are tested against.
#include "kernels.h"
#include "phidesk/tensor.h"

namespace phidesk {
namespace {

float dot(const float* a, const float* b, int64_t n) {
    // Eight partial sums: the same association as the SIMD kernels, so levels agree closely.
    float s[8] = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j) s[j] += a[i + j] * b[i + j];
    float total = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    for (; i < n; ++i) total += a[i] * b[i];
    return total;
}

void axpy(float a, const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void f16_row(const uint16_t* src, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(src[i]);
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

}  // namespace

const CpuKernels kPortableKernels = {"portable", dot, axpy, f16_row, bf16_row, q8_row, q4_row};

}  // namespace phidesk
