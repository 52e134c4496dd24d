#include "kernels.h"

#if PHIDESK_X86_KERNELS
#include <cpuid.h>
#endif

#include "phidesk/error.h"

namespace phidesk {

bool cpu_has_avx2() {
#if PHIDESK_X86_KERNELS
    __builtin_cpu_init();
    // F16C through cpuid leaf 1 (ECX bit 29): not every compiler's builtin knows its name.
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29));
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
#else
    return false;
#endif
}

const CpuKernels& select_cpu_kernels(std::string_view forced) {
    if (forced == "portable") return kPortableKernels;
    if (forced == "avx2" || forced.empty()) {
#if PHIDESK_X86_KERNELS
        if (cpu_has_avx2()) return kAvx2Kernels;
#endif
        if (forced.empty()) return kPortableKernels;
        throw Error("CPU kernels 'avx2' requested, but this CPU lacks AVX2, FMA or F16C");
    }
    throw Error("unknown CPU kernel level '" + std::string(forced) + "' (portable or avx2)");
}

}  // namespace phidesk
