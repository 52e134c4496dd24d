// Weight quantization for the int8 and int4 modes (layouts in engine/phz/FORMAT.md).
#pragma once
#include <cstdint>
#include <vector>

#include "phidesk/tensor.h"

namespace phidesk {

// Quantizes a 2-D tensor of any dtype to Q8 or Q4; returns the payload: fp16 scales, then values.
std::vector<uint8_t> quantize(DType to, const TensorView& w);
// Converts any tensor to F32, F16 or BF16 (rounding to nearest even); returns its bytes.
std::vector<uint8_t> convert_float(DType to, const TensorView& w);

// Row `r` of any 2-D tensor as float32 (portable conversions; for conversion, not inference).
void row_to_f32(const TensorView& t, int64_t r, float* out);
// A whole (small) tensor as float32: biases and LayerNorm parameters.
std::vector<float> to_floats(const TensorView& t);

}  // namespace phidesk
