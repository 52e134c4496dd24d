#include "ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace phidesk {

void layer_norm(const float* x, const float* w, const float* b, float eps, int64_t n, int64_t dim, float* y) {
    for (int64_t t = 0; t < n; ++t) {
        const float* xr = x + t * dim;
        float* yr = y + t * dim;
        double sum = 0.0;
        for (int64_t i = 0; i < dim; ++i) sum += xr[i];
        const float mean = float(sum / double(dim));
        double var = 0.0;
        for (int64_t i = 0; i < dim; ++i) var += double(xr[i] - mean) * double(xr[i] - mean);
        const float inv = 1.0f / std::sqrt(float(var / double(dim)) + eps);
        for (int64_t i = 0; i < dim; ++i) yr[i] = (xr[i] - mean) * inv * w[i] + b[i];
    }
}

static float gelu_new(float x) {
    // The tanh approximation that Phi was trained with (not erf-GELU).
    constexpr float kSqrt2OverPi = 0.7978845608028654f;
    return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

const float* weight_row(const CpuKernels& k, const TensorView& W, int64_t o, float* buf) {
    const int64_t in = W.shape[1];
    switch (W.dtype) {
    case DType::F32: return static_cast<const float*>(W.data) + o * in;
    case DType::F16: k.f16_to_f32(static_cast<const uint16_t*>(W.data) + o * in, buf, in); return buf;
    case DType::BF16: k.bf16_to_f32(static_cast<const uint16_t*>(W.data) + o * in, buf, in); return buf;
    case DType::Q8: k.q8_to_f32(static_cast<const int8_t*>(W.data) + o * in, f16_to_f32(W.scales[o]), buf, in); return buf;
    case DType::Q4:
        k.q4_to_f32(static_cast<const uint8_t*>(W.data) + o * in / 2, W.scales + o * (in / kQ4Group), buf, in);
        return buf;
    }
    return buf;
}

// One output of W . x straight from the stored row (no row buffer: the decode path).
static float dot_row(const CpuKernels& k, const TensorView& W, int64_t o, const float* x) {
    const int64_t in = W.shape[1];
    switch (W.dtype) {
    case DType::F32: return k.dot(static_cast<const float*>(W.data) + o * in, x, in);
    case DType::F16: return k.dot_f16(static_cast<const uint16_t*>(W.data) + o * in, x, in);
    case DType::BF16: return k.dot_bf16(static_cast<const uint16_t*>(W.data) + o * in, x, in);
    case DType::Q8: return k.dot_q8(static_cast<const int8_t*>(W.data) + o * in, f16_to_f32(W.scales[o]), x, in);
    case DType::Q4: return k.dot_q4(static_cast<const uint8_t*>(W.data) + o * in / 2, W.scales + o * (in / kQ4Group), x, in);
    }
    return 0.0f;
}

void linear(CpuContext& cx, const TensorView& W, const float* bias, const float* x, int64_t n, float* y,
            Epilogue act) {
    const int64_t out = W.shape[0], in = W.shape[1];
    // Threads split the output rows in blocks of three. A few tokens (decode) read each weight
    // once straight from memory; a batch (prefill) converts three rows to float32 once and
    // runs every token against them. Both sum in the same order, so results are identical.
    constexpr int64_t kRows = 3;
    cx.pool.parallel_for((out + kRows - 1) / kRows, [&](int64_t begin, int64_t end, int thread) {
        float* buf = cx.scratch[thread].row;
        for (int64_t b = begin; b < end; ++b) {
            const int64_t o0 = b * kRows, rows = std::min(kRows, out - o0);
            if (n < 3 || rows < kRows) {
                for (int64_t o = o0; o < o0 + rows; ++o)
                    for (int64_t t = 0; t < n; ++t) y[t * out + o] = dot_row(cx.k, W, o, x + t * in);
            } else {
                const float* w[kRows];
                for (int64_t r = 0; r < kRows; ++r) w[r] = weight_row(cx.k, W, o0 + r, buf + r * in);
                float three[kRows];
                for (int64_t t = 0; t < n; ++t) {
                    cx.k.dot_3rows(w, x + t * in, in, three);
                    for (int64_t r = 0; r < kRows; ++r) y[t * out + o0 + r] = three[r];
                }
            }
            for (int64_t t = 0; t < n; ++t)
                for (int64_t o = o0; o < o0 + rows; ++o) {
                    const float v = y[t * out + o] + bias[o];
                    y[t * out + o] = act == Epilogue::GeluNew ? gelu_new(v) : v;
                }
        }
    });
}

void rope(float* x, int64_t n, int heads, int head_dim, int rotary_dim, const float* cos_sin, int pos0) {
    const int half = rotary_dim / 2;
    for (int64_t t = 0; t < n; ++t) {
        const float* cs = cos_sin + int64_t(pos0 + t) * rotary_dim;
        for (int h = 0; h < heads; ++h) {
            float* v = x + (t * heads + h) * head_dim;
            for (int i = 0; i < half; ++i) {
                const float a = v[i], b = v[i + half], c = cs[i], s = cs[half + i];
                v[i] = a * c - b * s;
                v[i + half] = b * c + a * s;
            }
        }
    }
}

void attention(CpuContext& cx, const AttentionShape& s, const float* q, const float* k_cache, const float* v_cache,
               int64_t n, int pos0, float* out) {
    const int64_t q_stride = int64_t(s.heads) * s.head_dim, kv_stride = int64_t(s.kv_heads) * s.head_dim;
    const int group = s.heads / s.kv_heads;
    const float scale = 1.0f / std::sqrt(float(s.head_dim));
    // One work item per (token, head); scores live in the thread's scratch, so memory is
    // linear in the context length, never quadratic.
    cx.pool.parallel_for(n * s.heads, [&](int64_t begin, int64_t end, int thread) {
        float* scores = cx.scratch[thread].scores;
        for (int64_t item = begin; item < end; ++item) {
            const int64_t t = item / s.heads;
            const int h = int(item % s.heads), kvh = h / group;
            const int64_t positions = pos0 + t + 1;
            const float* qv = q + t * q_stride + int64_t(h) * s.head_dim;
            float max = -INFINITY;
            for (int64_t j = 0; j < positions; ++j) {
                scores[j] = cx.k.dot(qv, k_cache + j * kv_stride + int64_t(kvh) * s.head_dim, s.head_dim) * scale;
                max = std::max(max, scores[j]);
            }
            float sum = 0.0f;
            for (int64_t j = 0; j < positions; ++j) sum += (scores[j] = std::exp(scores[j] - max));
            float* o = out + t * q_stride + int64_t(h) * s.head_dim;
            std::memset(o, 0, sizeof(float) * size_t(s.head_dim));
            const float inv = 1.0f / sum;
            for (int64_t j = 0; j < positions; ++j)
                cx.k.axpy(scores[j] * inv, v_cache + j * kv_stride + int64_t(kvh) * s.head_dim, o, s.head_dim);
        }
    });
}

}  // namespace phidesk
