// Keys and values of every layer for positions [0, context), float32, [position, kv_heads*head_dim].
// Allocated uninitialised, so memory pages are touched only as positions fill.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace phidesk {

struct KvCache {
    int context = 0;
    int64_t width = 0;   // kv_heads * head_dim
    std::vector<std::unique_ptr<float[]>> k, v;

    KvCache(int layers, int context_, int64_t width_) : context(context_), width(width_) {
        for (int l = 0; l < layers; ++l) {
            k.push_back(std::make_unique_for_overwrite<float[]>(size_t(context) * size_t(width)));
            v.push_back(std::make_unique_for_overwrite<float[]>(size_t(context) * size_t(width)));
        }
    }
    float* k_at(int layer, int pos) { return k[size_t(layer)].get() + int64_t(pos) * width; }
    float* v_at(int layer, int pos) { return v[size_t(layer)].get() + int64_t(pos) * width; }
    size_t bytes() const { return 2 * k.size() * size_t(context) * size_t(width) * sizeof(float); }
};

}  // namespace phidesk
