#include "kernels.h"

#include <algorithm>

#include "phidesk/error.h"
#include "phidesk/tensor.h"

#if PHIDESK_X86_KERNELS
#include <cpuid.h>
#endif

namespace phidesk {

void q4_order_pairs(const float* x, int64_t n, float* xq) {
    for (int64_t g = 0; g < n; g += kQ4Group)
        for (int64_t i = 0; i < kQ4Group / 2; ++i) {
            xq[g + i] = x[g + 2 * i];
            xq[g + kQ4Group / 2 + i] = x[g + 2 * i + 1];
        }
    std::fill(xq + n, xq + q4_input_floats(n), 0.0f);
}

float dot_row(const CpuKernels& k, const TensorView& W, int64_t o, const float* x) {
    const int64_t in = W.shape[1];
    switch (W.dtype) {
    case DType::F32: return k.dot(static_cast<const float*>(W.data) + o * in, x, in);
    case DType::F16: return k.dot_f16(static_cast<const uint16_t*>(W.data) + o * in, x, in);
    case DType::BF16: return k.dot_bf16(static_cast<const uint16_t*>(W.data) + o * in, x, in);
    case DType::Q8: return k.dot_q8(static_cast<const int8_t*>(W.data) + o * in, f16_to_f32(W.scales[o]), x, in);
    case DType::Q4: return k.dot_q4(static_cast<const uint8_t*>(W.data) + o * in / 2, W.scales + o * (in / kQ4Group), x, in);
    }
    return 0.0f;
}

float weight_value(const TensorView& W, int64_t o, int64_t i) {
    const int64_t in = W.shape[1];
    switch (W.dtype) {
    case DType::F32: return static_cast<const float*>(W.data)[o * in + i];
    case DType::F16: return f16_to_f32(static_cast<const uint16_t*>(W.data)[o * in + i]);
    case DType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(W.data)[o * in + i]);
    case DType::Q8: return float(static_cast<const int8_t*>(W.data)[o * in + i]) * f16_to_f32(W.scales[o]);
    case DType::Q4: {
        const uint8_t b = static_cast<const uint8_t*>(W.data)[(o * in + i) / 2];
        return float(int(i % 2 ? b >> 4 : b & 0xF) - 8) * f16_to_f32(W.scales[(o * in + i) / kQ4Group]);
    }
    }
    return 0.0f;
}

bool cpu_runs_kernels(std::string_view level) {
    if (level == "portable") return true;
#if PHIDESK_X86_KERNELS
    __builtin_cpu_init();
    // F16C through cpuid leaf 1 (ECX bit 29): not every compiler's builtin knows its name.
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29));
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
    if (level == "avx2") return avx2;
    // The builtin also checks that the OS saves the 512-bit registers (XCR0).
    if (level == "avx512")
        return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl");
#endif
    return false;
}

const CpuKernels& select_cpu_kernels(std::string_view forced) {
    if (!forced.empty() && forced != "portable" && forced != "avx2" && forced != "avx512")
        throw Error("unknown CPU kernel level '" + std::string(forced) + "' (portable, avx2 or avx512)");
    if (!forced.empty() && !cpu_runs_kernels(forced))
        throw Error("CPU kernels '" + std::string(forced) + "' requested, but this CPU lacks " +
                    (forced == "avx2" ? "AVX2, FMA or F16C" : "AVX-512 F/BW/VL"));
#if PHIDESK_X86_KERNELS
    if (forced == "avx512" || (forced.empty() && cpu_runs_kernels("avx512"))) return avx512_kernels();
    if (forced == "avx2" || (forced.empty() && cpu_runs_kernels("avx2"))) return kAvx2Kernels;
#endif
    return kPortableKernels;
}

}  // namespace phidesk
