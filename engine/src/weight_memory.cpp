#include "weight_memory.h"

#include <sys/mman.h>

#include <new>

#include "phidesk/error.h"

namespace phidesk {

std::shared_ptr<uint8_t> allocate_weight_memory(size_t bytes, const std::string& what) {
    constexpr size_t kHuge = 2u << 20;
    const size_t size = std::max(kHuge, (bytes + kHuge - 1) / kHuge * kHuge);
    std::shared_ptr<uint8_t> mem;
    try {
        mem.reset(static_cast<uint8_t*>(::operator new[](size, std::align_val_t(kHuge))),
                  [](uint8_t* p) { ::operator delete[](p, std::align_val_t(kHuge)); });
    } catch (const std::bad_alloc&) {
        throw Error(what + ": not enough memory for the model's " + std::to_string(bytes >> 20) + " MiB of weights");
    }
    madvise(mem.get(), size, MADV_HUGEPAGE);   // advice only: without THP it changes nothing
    return mem;
}

}  // namespace phidesk
