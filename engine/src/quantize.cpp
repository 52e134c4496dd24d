#include "quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "phidesk/error.h"

namespace phidesk {
namespace {

// Symmetric scale for values in [-qmax, qmax], rounded to fp16 first so that the stored scale
// is the one the values were divided by.
uint16_t scale_for(const float* w, int64_t n, float qmax) {
    float amax = 0.0f;
    for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(w[i]));
    return f32_to_f16(amax / qmax);
}

int quantize_one(float w, float scale, int qmax) {
    if (scale == 0.0f) return 0;
    return std::clamp(int(std::lround(w / scale)), -qmax, qmax);
}

}  // namespace

std::vector<uint8_t> quantize(DType to, const TensorView& t) {
    const int64_t rows = t.rows(), cols = t.cols();
    if (t.shape.size() != 2) throw Error("tensor " + t.name + ": only matrices are quantized");
    if (to == DType::Q4 && cols % kQ4Group != 0)
        throw Error("int4 needs rows that are a multiple of " + std::to_string(kQ4Group) + " wide, not " + std::to_string(cols));
    const size_t n_scales = scale_count(to, rows, cols);
    std::vector<uint8_t> out(2 * n_scales + value_bytes(to, rows, cols));
    uint16_t* scales = reinterpret_cast<uint16_t*>(out.data());
    uint8_t* values = out.data() + 2 * n_scales;
    std::vector<float> buf(static_cast<size_t>(cols));
    const float* row = buf.data();
    for (int64_t r = 0; r < rows; ++r) {
        row_to_f32(t, r, buf.data());
        if (to == DType::Q8) {
            scales[r] = scale_for(row, cols, 127.0f);
            const float s = f16_to_f32(scales[r]);
            for (int64_t i = 0; i < cols; ++i) values[r * cols + i] = uint8_t(int8_t(quantize_one(row[i], s, 127)));
        } else {
            for (int64_t g = 0; g < cols / kQ4Group; ++g) {
                const float* x = row + g * kQ4Group;
                uint16_t& sc = scales[r * (cols / kQ4Group) + g];
                sc = scale_for(x, kQ4Group, 7.0f);
                const float s = f16_to_f32(sc);
                uint8_t* q = values + (r * cols + g * kQ4Group) / 2;
                for (int64_t i = 0; i < kQ4Group; i += 2)
                    q[i / 2] = uint8_t((quantize_one(x[i], s, 7) + 8) | ((quantize_one(x[i + 1], s, 7) + 8) << 4));
            }
        }
    }
    return out;
}

std::vector<uint8_t> convert_float(DType to, const TensorView& t) {
    if (is_quantized(to)) throw Error("convert_float: target must be F32, F16 or BF16");
    const int64_t rows = t.rows(), cols = t.cols();
    std::vector<uint8_t> out(size_t(rows * cols) * dtype_size(to));
    std::vector<float> buf(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
        row_to_f32(t, r, buf.data());
        uint8_t* dst = out.data() + size_t(r * cols) * dtype_size(to);
        for (int64_t i = 0; i < cols; ++i) {
            if (to == DType::F32) {
                std::memcpy(dst + 4 * i, &buf[size_t(i)], 4);
            } else {
                const uint16_t h = to == DType::F16 ? f32_to_f16(buf[size_t(i)]) : f32_to_bf16(buf[size_t(i)]);
                std::memcpy(dst + 2 * i, &h, 2);
            }
        }
    }
    return out;
}

std::vector<float> to_floats(const TensorView& t) {
    TensorView one_row = t;
    one_row.shape = {1, t.numel()};
    std::vector<float> out(size_t(t.numel()));
    row_to_f32(one_row, 0, out.data());
    return out;
}

void row_to_f32(const TensorView& t, int64_t r, float* out) {
    const int64_t c = t.cols();
    const uint8_t* base = static_cast<const uint8_t*>(t.data) + value_bytes(t.dtype, r, c);
    for (int64_t i = 0; i < c; ++i) {
        uint16_t h;
        switch (t.dtype) {
        case DType::F32: std::memcpy(&out[i], base + 4 * i, 4); break;
        case DType::F16: std::memcpy(&h, base + 2 * i, 2); out[i] = f16_to_f32(h); break;
        case DType::BF16: std::memcpy(&h, base + 2 * i, 2); out[i] = bf16_to_f32(h); break;
        case DType::Q8: out[i] = float(int8_t(base[i])) * f16_to_f32(t.scales[r]); break;
        case DType::Q4: {
            const uint8_t b = base[i / 2];
            const int q = int(i % 2 ? b >> 4 : b & 0xF) - 8;
            out[i] = float(q) * f16_to_f32(t.scales[r * (c / kQ4Group) + i / kQ4Group]);
            break;
        }
        }
    }
}

}  // namespace phidesk
