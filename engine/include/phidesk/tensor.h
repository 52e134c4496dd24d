// Flat views of tensors as stored: dtype, shape, pointer. Nothing here owns memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace phidesk {

enum class DType : uint8_t { F32, F16, BF16 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);

struct TensorView {
    std::string name;            // name in the checkpoint (for error messages)
    DType dtype = DType::F32;
    std::vector<int64_t> shape;  // row-major
    const void* data = nullptr;

    int64_t numel() const;
    size_t nbytes() const { return size_t(numel()) * dtype_size(dtype); }
    // Rows [first, first+count) of a 2-D tensor (or elements of a 1-D one): a view, no copy.
    TensorView rows(int64_t first, int64_t count) const;
};

std::string shape_string(const std::vector<int64_t>& shape);

// Scalar conversions of the stored 16-bit formats.
float f16_to_f32(uint16_t h);
float bf16_to_f32(uint16_t b);
uint16_t f32_to_f16(float f);    // round to nearest even
uint16_t f32_to_bf16(float f);   // round to nearest even

}  // namespace phidesk
