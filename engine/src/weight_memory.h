// Memory for a model's weights, in one block: 2 MiB aligned and advised for transparent huge
// pages, because decode streams every weight once per token and with 4 KiB pages the TLB misses
// (and the hardware prefetchers stopping at every page) cost a large part of the bandwidth.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace phidesk {

// Error naming `what` when the memory is not there.
std::shared_ptr<uint8_t> allocate_weight_memory(size_t bytes, const std::string& what);

}  // namespace phidesk
