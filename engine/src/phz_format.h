// The .phz container's layout (engine/phz/FORMAT.md), shared by reader and writer.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "phidesk/tensor.h"

namespace phidesk {

inline constexpr uint8_t kPhzMagic[8] = {0x89, 'P', 'H', 'Z', '\r', '\n', 0x1a, '\n'};
inline constexpr uint32_t kPhzVersion = 1;
inline constexpr size_t kPhzPreambleBytes = 32;
inline constexpr uint64_t kPhzMaxHeaderBytes = 64u << 20;
inline constexpr uint64_t kPhzChunkBytes = 2u << 20;

struct PhzChunk {
    uint64_t offset, size;   // compressed frame in the file
};

struct PhzTensor {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    bool byteplane;
    uint64_t raw_bytes;
    std::vector<PhzChunk> chunks;
    uint64_t compressed_bytes() const;
};

struct PhzHeader {
    nlohmann::json json;   // the whole header (config, tokenizer, provenance, ...)
    uint64_t chunk_bytes = kPhzChunkBytes;
    std::vector<PhzTensor> tensors;
};

DType phz_dtype(const std::string& name, const std::string& where);
// Splits 16-bit values into [all low bytes][all high bytes] and back.
void byteplane_split(const uint8_t* src, uint8_t* dst, size_t n);
void byteplane_join(const uint8_t* src, uint8_t* dst, size_t n);

}  // namespace phidesk
