// Flat views of tensors as stored: dtype, shape, pointer. Nothing here owns memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace phidesk {

// Stored element formats. Q8 and Q4 are PhiDesk's quantized 2-D weights (see engine/phz/FORMAT.md):
// Q8 symmetric int8 with one fp16 scale per row; Q4 symmetric 4-bit with one fp16 scale per
// kQ4Group consecutive elements of a row, two elements per byte (low nibble first).
enum class DType : uint8_t { F32, F16, BF16, Q8, Q4 };
inline constexpr int64_t kQ4Group = 32;

size_t dtype_size(DType t);      // bytes per element of the unquantized dtypes (Q8: 1; Q4: not whole)
const char* dtype_name(DType t);
bool is_quantized(DType t);
// Bytes of the values of a [rows, cols] matrix, and of its scales.
size_t value_bytes(DType t, int64_t rows, int64_t cols);
size_t scale_count(DType t, int64_t rows, int64_t cols);

struct TensorView {
    std::string name;            // name in the checkpoint (for error messages)
    DType dtype = DType::F32;
    std::vector<int64_t> shape;  // row-major
    const void* data = nullptr;
    const uint16_t* scales = nullptr;   // Q8/Q4 only: fp16 scales

    int64_t numel() const;
    int64_t rows() const { return shape.size() > 1 ? shape[0] : 1; }
    int64_t cols() const { return shape.empty() ? 1 : shape.back(); }
    size_t nbytes() const;   // values and scales
    // Rows [first, first+count) of a 2-D tensor (or elements of a 1-D one): a view, no copy.
    TensorView slice_rows(int64_t first, int64_t count) const;
};

std::string shape_string(const std::vector<int64_t>& shape);

// Scalar conversions of the stored 16-bit formats.
float f16_to_f32(uint16_t h);
float bf16_to_f32(uint16_t b);
uint16_t f32_to_f16(float f);    // round to nearest even
uint16_t f32_to_bf16(float f);   // round to nearest even

}  // namespace phidesk
