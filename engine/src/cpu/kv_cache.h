// Keys and values of every layer for positions [0, context), head-major: per layer,
// [kv_head][position][head_dim], so that one head's keys (and values) lie one after another and
// a decode step reads them as one stream (position-major, a head's 80 floats came every 10 KB
// for phi-2, a page apart). Elements are float32, or float16 (the kernels' saturating
// conversion) to halve the bytes a long context's decode step reads. Allocated uninitialised, so
// pages are touched only as positions fill.
#pragma once
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "kernels.h"
#include "phidesk/error.h"
#include "phidesk/tensor.h"

namespace phidesk {

struct KvCache {
    DType dtype = DType::F32;   // F32 or F16
    int context = 0, kv_heads = 0;
    int64_t head_dim = 0;
    int64_t width = 0;   // kv_heads * head_dim: one position of all heads, as the projections give it
    std::vector<std::unique_ptr<std::byte[]>> k, v;

    KvCache(DType dtype_, int layers, int context_, int kv_heads_, int64_t head_dim_)
        : dtype(dtype_), context(context_), kv_heads(kv_heads_), head_dim(head_dim_), width(kv_heads_ * head_dim_) {
        if (dtype != DType::F32 && dtype != DType::F16) throw Error("a KV cache holds float32 or float16");
        for (int l = 0; l < layers; ++l) {
            k.push_back(std::make_unique_for_overwrite<std::byte[]>(layer_bytes()));
            v.push_back(std::make_unique_for_overwrite<std::byte[]>(layer_bytes()));
        }
    }
    size_t layer_bytes() const { return size_t(context) * size_t(width) * dtype_size(dtype); }
    int64_t head_stride() const { return int64_t(context) * head_dim; }   // elements from one head to the next
    // Stores n positions from pos on, each given as [kv_heads * head_dim] (keys and values);
    // float16 by the kernels' conversion.
    void store(const CpuKernels& kernels, int layer, int pos, int64_t n, const float* keys, const float* values) {
        for (int64_t t = 0; t < n; ++t)
            for (int h = 0; h < kv_heads; ++h) {
                const int64_t at = h * head_stride() + (pos + t) * head_dim, from = t * width + h * head_dim;
                store_row(kernels, k[size_t(layer)].get(), at, keys + from);
                store_row(kernels, v[size_t(layer)].get(), at, values + from);
            }
    }
    size_t bytes() const { return 2 * k.size() * layer_bytes(); }

private:
    void store_row(const CpuKernels& kernels, std::byte* base, int64_t at, const float* row) const {
        if (dtype == DType::F32)
            std::memcpy(base + at * int64_t(sizeof(float)), row, sizeof(float) * size_t(head_dim));
        else
            kernels.f32_to_f16_saturating(row, reinterpret_cast<uint16_t*>(base) + at, head_dim);
    }
};

}  // namespace phidesk
