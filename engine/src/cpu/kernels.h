// The CPU's inner loops, one table per instruction-set level, chosen at run time.
#pragma once
#include <cstdint>
#include <string>

namespace phidesk {

struct CpuKernels {
    const char* name;                                              // "portable", "avx2"
    float (*dot)(const float* a, const float* b, int64_t n);       // sum a[i]*b[i]
    void (*axpy)(float a, const float* x, float* y, int64_t n);    // y += a*x
    void (*f16_to_f32)(const uint16_t* src, float* dst, int64_t n);
    void (*bf16_to_f32)(const uint16_t* src, float* dst, int64_t n);
    void (*q8_to_f32)(const int8_t* q, float scale, float* dst, int64_t n);
    // n a multiple of kQ4Group; one fp16 scale per group.
    void (*q4_to_f32)(const uint8_t* q, const uint16_t* scales, float* dst, int64_t n);
};

extern const CpuKernels kPortableKernels;
extern const CpuKernels kAvx2Kernels;   // x86 only: AVX2 + FMA + F16C; only call when cpu_has_avx2()

bool cpu_has_avx2();
// "" picks the best level this CPU runs; a name forces that level (Error if unavailable).
const CpuKernels& select_cpu_kernels(const std::string& forced);

}  // namespace phidesk
