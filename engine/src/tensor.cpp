#include "phidesk/tensor.h"

#include <cstring>

#include "phidesk/error.h"

namespace phidesk {

size_t dtype_size(DType t) {
    switch (t) {
    case DType::F32: return 4;
    case DType::F16: case DType::BF16: return 2;
    case DType::Q8: case DType::Q4: return 1;
    }
    return 1;
}

const char* dtype_name(DType t) {
    switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::Q8: return "Q8";
    case DType::Q4: return "Q4";
    }
    return "?";
}

bool is_quantized(DType t) {
    return t == DType::Q8 || t == DType::Q4;
}

size_t value_bytes(DType t, int64_t rows, int64_t cols) {
    const size_t n = size_t(rows) * size_t(cols);
    return t == DType::Q4 ? n / 2 : n * dtype_size(t);
}

size_t scale_count(DType t, int64_t rows, int64_t cols) {
    if (t == DType::Q8) return size_t(rows);
    if (t == DType::Q4) return size_t(rows) * size_t(cols / kQ4Group);
    return 0;
}

int64_t TensorView::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

size_t TensorView::nbytes() const {
    return value_bytes(dtype, rows(), cols()) + 2 * scale_count(dtype, rows(), cols());
}

TensorView TensorView::slice_rows(int64_t first, int64_t count) const {
    if (shape.empty() || first < 0 || count < 0 || first + count > shape[0])
        throw Error("rows [" + std::to_string(first) + ", +" + std::to_string(count) + ") out of range for " +
                    name + " " + shape_string(shape));
    TensorView v = *this;
    v.shape[0] = count;
    const int64_t c = shape.size() > 1 ? shape[1] : 1;
    v.data = static_cast<const uint8_t*>(data) + value_bytes(dtype, first, c);
    if (scales) v.scales = scales + scale_count(dtype, first, c);
    return v;
}

std::string shape_string(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

static float bits_to_f32(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

static uint32_t f32_to_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

float f16_to_f32(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1f;
    const uint32_t man = h & 0x3ff;
    if (exp == 0x1f) return bits_to_f32(sign | 0x7f800000u | (man << 13));  // inf / nan
    if (exp != 0) return bits_to_f32(sign | ((exp + 112) << 23) | (man << 13));
    if (man == 0) return bits_to_f32(sign);
    // Subnormal half: value = man * 2^-24, exact in float.
    const float v = float(man) * 5.9604644775390625e-8f;
    return sign ? -v : v;
}

float bf16_to_f32(uint16_t b) {
    return bits_to_f32(uint32_t(b) << 16);
}

uint16_t f32_to_bf16(float f) {
    uint32_t u = f32_to_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // quiet nan
    u += 0x7fff + ((u >> 16) & 1);
    return uint16_t(u >> 16);
}

uint16_t f32_to_f16(float f) {
    const uint32_t u = f32_to_bits(f);
    const uint16_t sign = uint16_t((u >> 16) & 0x8000);
    const uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return sign | 0x7e00;                   // nan
    if (a >= 0x477ff000u) return sign | 0x7c00;                  // overflow to inf (>= 65520)
    if (a < 0x38800000u) {                                       // subnormal or zero in half
        if (a < 0x33000000u) return sign;                        // rounds to zero (< 2^-25)
        const uint32_t man = (a & 0x7fffff) | 0x800000;
        const int shift = 113 - int(a >> 23) + 13;               // 14..24
        uint32_t h = man >> shift;
        const uint32_t rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1))) ++h;
        return sign | uint16_t(h);
    }
    uint32_t h = ((a >> 13) - (112u << 10));
    const uint32_t rem = a & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;
    return sign | uint16_t(h);
}

}  // namespace phidesk
