// Keys and values of every layer for positions [0, context), float32, head-major: per layer,
// [kv_head][position][head_dim], so that one head's keys (and values) lie one after another and
// a decode step reads them as one stream (position-major, a head's 80 floats came every 10 KB
// for phi-2, a page apart). Allocated uninitialised, so pages are touched only as positions fill.
#pragma once
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace phidesk {

struct KvCache {
    int context = 0, kv_heads = 0;
    int64_t head_dim = 0;
    int64_t width = 0;   // kv_heads * head_dim: one position of all heads, as the projections give it
    std::vector<std::unique_ptr<float[]>> k, v;

    KvCache(int layers, int context_, int kv_heads_, int64_t head_dim_)
        : context(context_), kv_heads(kv_heads_), head_dim(head_dim_), width(kv_heads_ * head_dim_) {
        for (int l = 0; l < layers; ++l) {
            k.push_back(std::make_unique_for_overwrite<float[]>(size_t(context) * size_t(width)));
            v.push_back(std::make_unique_for_overwrite<float[]>(size_t(context) * size_t(width)));
        }
    }
    int64_t head_stride() const { return int64_t(context) * head_dim; }   // floats from one head to the next
    // Stores n positions from pos on, each given as [kv_heads * head_dim] (keys and values).
    void store(int layer, int pos, int64_t n, const float* keys, const float* values) {
        for (int64_t t = 0; t < n; ++t)
            for (int h = 0; h < kv_heads; ++h) {
                const int64_t at = h * head_stride() + (pos + t) * head_dim;
                std::memcpy(k[size_t(layer)].get() + at, keys + t * width + h * head_dim, sizeof(float) * size_t(head_dim));
                std::memcpy(v[size_t(layer)].get() + at, values + t * width + h * head_dim, sizeof(float) * size_t(head_dim));
            }
    }
    size_t bytes() const { return 2 * k.size() * size_t(context) * size_t(width) * sizeof(float); }
};

}  // namespace phidesk
