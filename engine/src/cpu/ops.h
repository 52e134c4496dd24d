// The forward pass's operations on float32 activations, each named after the math it does.
// Row-major throughout: activations are [tokens, features].
#pragma once
#include <cstdint>
#include <vector>

#include "kernels.h"
#include "phidesk/tensor.h"
#include "thread_pool.h"

namespace phidesk {

// Per-thread scratch: 16 weight rows packed as a float32 panel (or as F16 halves) and a 16 x 6
// tile for linear(), and attention's working space, linear in the context length: a decode step's
// scores, or for a prompt one head's keys and values packed into panels and a tile's probabilities
// (and, from a float16 cache, the head's keys and values as float32 rows first).
struct ThreadScratch {
    float* panel;       // [max in * kPanelRows]
    uint16_t* panel16;  // [max in * kPanelRows]: F16 weights' panel
    float* tile;        // [kPanelRows * kPanelTokens]
    float* attention;   // attention_scratch_floats(context, head_dim, kv_type)
};
inline int64_t round_to_panel(int64_t v) { return (v + kPanelRows - 1) / kPanelRows * kPanelRows; }
inline int64_t attention_scratch_floats(int64_t context, int64_t head_dim, DType kv_type) {
    const int64_t converted = kv_type == DType::F16 ? 2 * context * head_dim : 0;
    return round_to_panel(context) * (head_dim + round_to_panel(head_dim) + kPanelTokens) + converted;
}

// Every thread's ThreadScratch, for linear() inputs up to max_in wide and attention over up to
// `context` positions of head_dim, from a KV cache of kv_type (F32 or F16).
class ScratchBuffers {
public:
    ScratchBuffers(int threads, int64_t max_in, int64_t context, int64_t head_dim, DType kv_type);
    ScratchBuffers(const ScratchBuffers&) = delete;   // a copy's pointers would lead into this one's buffers
    ScratchBuffers& operator=(const ScratchBuffers&) = delete;
    ThreadScratch* data() { return threads_.data(); }

private:
    std::vector<float> floats_;
    std::vector<uint16_t> halves_;
    std::vector<ThreadScratch> threads_;
};

// linear() reads the weights once per token up to this many tokens (decode), else packs panels.
inline constexpr int64_t kMaxDecodeTokens = 3;

struct CpuContext {
    ThreadPool& pool;
    const CpuKernels& k;
    ThreadScratch* scratch;   // pool.size() entries
    float* q4_input;          // [kMaxDecodeTokens * q4_input_floats(max in)]: decode inputs in k's Q4 order
};

// y[t] = LayerNorm(x[t]) * w + b, statistics in float32 (mean, biased variance).
void layer_norm(const float* x, const float* w, const float* b, float eps, int64_t n, int64_t dim, float* y);

// Row o of a 2-D weight as float32: the stored row itself for F32, else converted into buf.
const float* weight_row(const CpuKernels& k, const TensorView& W, int64_t o, float* buf);

enum class Epilogue { None, GeluNew };

// y[t, o] = act(sum_i x[t, i] * W[o, i] + bias[o]) for t < n; W in its stored dtype, [out, in].
void linear(CpuContext& cx, const TensorView& W, const float* bias, const float* x, int64_t n, float* y,
            Epilogue act = Epilogue::None);

// Rotate-half RoPE on the first rotary_dim dims of each head, at positions pos0 + t.
// cos_sin holds, per position, rotary_dim/2 cos values then rotary_dim/2 sin values.
void rope(float* x, int64_t n, int heads, int head_dim, int rotary_dim, const float* cos_sin, int pos0);

// Causal attention of n queries at positions pos0.. against the cache's positions [0, pos0+t].
// q, out: [n, heads*head_dim]; k_cache and v_cache hold elements of kv_type (F32 or F16), and
// kv head g's row for position p starts at element g * head_stride + p * row_stride.
struct AttentionShape {
    int heads, kv_heads, head_dim;
    int64_t head_stride, row_stride;
    DType kv_type = DType::F32;
};
void attention(CpuContext& cx, const AttentionShape& s, const float* q, const void* k_cache, const void* v_cache,
               int64_t n, int pos0, float* out);

}  // namespace phidesk
