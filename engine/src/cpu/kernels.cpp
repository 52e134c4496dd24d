#include "kernels.h"

#include "phidesk/error.h"

namespace phidesk {

bool cpu_has_avx2() {
#if PHIDESK_X86_KERNELS
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
    return false;
#endif
}

const CpuKernels& select_cpu_kernels(const std::string& forced) {
    if (forced == "portable") return kPortableKernels;
    if (forced == "avx2" || forced.empty()) {
#if PHIDESK_X86_KERNELS
        if (cpu_has_avx2()) return kAvx2Kernels;
#endif
        if (forced.empty()) return kPortableKernels;
        throw Error("CPU kernels 'avx2' requested, but this CPU lacks AVX2, FMA or F16C");
    }
    throw Error("unknown CPU kernel level '" + forced + "' (portable or avx2)");
}

}  // namespace phidesk
