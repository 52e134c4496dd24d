#include "ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace phidesk {

ScratchBuffers::ScratchBuffers(int threads, int64_t max_in, int64_t context, int64_t head_dim, DType kv_type) {
    const int64_t panel = max_in * kPanelRows, tile = kPanelRows * kPanelTokens;
    const int64_t floats = panel + tile + attention_scratch_floats(context, head_dim, kv_type);
    floats_.resize(size_t(threads * floats));
    halves_.resize(size_t(threads * panel));
    for (int t = 0; t < threads; ++t) {
        float* base = floats_.data() + t * floats;
        threads_.push_back({base, halves_.data() + t * panel, base + panel, base + panel + tile});
    }
}

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

// y[t, o0 .. o0+15] = W[o0 .. o0+15] . x[t] for all n tokens, through one packed panel. The inner
// dimension goes in chunks so that the chunk of every token stays in L2 while the panel streams;
// each token's accumulators live in y itself, or in `tile` for a last panel narrower than 16.
// `gemm` is the kernel table's micro-kernel for the panel's element type P.
template <class P, class Gemm>
static void panel_times_tokens(Gemm gemm, const P* panel, int64_t in, const float* x, int64_t n, float* y,
                               int64_t out, int64_t o0, float* tile) {
    constexpr int64_t kChunk = 1024;
    const int64_t rows = std::min(kPanelRows, out - o0), chunk = rows == kPanelRows ? kChunk : in;
    float discard[kPanelRows] = {};   // results of the repeated last token of a short group
    for (int64_t t = 0; t < n; ++t) std::fill_n(y + t * out + o0, rows, 0.0f);
    for (int64_t k0 = 0; k0 < in; k0 += chunk) {
        const int64_t len = std::min(chunk, in - k0);
        for (int64_t t0 = 0; t0 < n; t0 += kPanelTokens) {
            const float* xs[kPanelTokens];
            float* acc[kPanelTokens];
            for (int64_t t = 0; t < kPanelTokens; ++t) {
                xs[t] = x + std::min(t0 + t, n - 1) * in + k0;
                acc[t] = rows < kPanelRows ? tile + t * kPanelRows : t0 + t < n ? y + (t0 + t) * out + o0 : discard;
            }
            if (rows < kPanelRows) std::fill_n(tile, kPanelRows * kPanelTokens, 0.0f);
            gemm(panel + k0 * kPanelRows, xs, len, acc);
            if (rows < kPanelRows)
                for (int64_t t = t0; t < std::min(n, t0 + kPanelTokens); ++t)
                    std::copy_n(tile + (t - t0) * kPanelRows, rows, y + t * out + o0);
        }
    }
}

// y[t, o0 .. o0+rows-1] = W[o0 ..] . x[t] for a decode step's few tokens, each weight read once
// from memory. An input wider than kWideInput floats does not stay in L1 beside the weights
// streaming past, so one row at a time would read it from L2 for every row: fc2 (10240 wide)
// then ran at half the speed of the other products. Eight rows at a time read it once per
// eight (int8 fc2: 1.6-1.7x; 4 rows gave 1.4x, 16 no more than 4). Narrower inputs stay one row
// at a time, which measured faster there.
// Token t's input starts at x + t * x_stride.
static void rows_times_tokens(const CpuKernels& k, const TensorView& W, int64_t o0, int64_t rows, const float* x,
                              int64_t x_stride, int64_t n, float* y, int64_t out) {
    constexpr int64_t kWideInput = 4096;
    const int64_t in = W.shape[1];
    int64_t o = o0;
    if (in > kWideInput)
        for (; o + 8 <= o0 + rows; o += 8)
            for (int64_t t = 0; t < n; ++t) {
                float eight[8];
                k.dot8(W, o, x + t * x_stride, eight);
                for (int r = 0; r < 8; ++r) y[t * out + o + r] = eight[r];
            }
    for (; o < o0 + rows; ++o)
        for (int64_t t = 0; t < n; ++t) y[t * out + o] = dot_row(k, W, o, x + t * x_stride);
}

void linear(CpuContext& cx, const TensorView& W, const float* bias, const float* x, int64_t n, float* y,
            Epilogue act) {
    const int64_t out = W.shape[0], in = W.shape[1];
    // A few tokens (decode) read each weight once straight from memory, rows split over the
    // threads. A batch (prefill) converts 16 rows at a time into a float32 panel and runs all its
    // tokens against it at the arithmetic limit; F16 rows keep their halves in the panel, which the
    // micro-kernel converts as it goes (the same sums, bit for bit; packing took 16-25% fewer
    // samples and prefill ran 2-11% faster in five alternations on phi-2's shape). The two paths
    // sum in different orders, so a token's logits differ by float rounding between them.
    // Work items are blocks of 16 output rows either way, so the epilogue runs over whole blocks.
    const bool batch = n > kMaxDecodeTokens;
    int64_t x_stride = in;
    if (!batch && W.dtype == DType::Q4) {   // reordered once here, read by every row
        x_stride = q4_input_floats(in);
        for (int64_t t = 0; t < n; ++t) cx.k.q4_input_order(x + t * in, in, cx.q4_input + t * x_stride);
        x = cx.q4_input;
    }
    cx.pool.parallel_for((out + kPanelRows - 1) / kPanelRows, [&](int64_t begin, int64_t end, int thread) {
        const ThreadScratch& s = cx.scratch[thread];
        for (int64_t item = begin; item < end; ++item) {
            const int64_t o0 = item * kPanelRows, rows = std::min(kPanelRows, out - o0);
            if (batch && W.dtype == DType::F16) {
                cx.k.pack_f16_weights(W, o0, s.panel16);
                panel_times_tokens(cx.k.gemm_16x6_f16, s.panel16, in, x, n, y, out, o0, s.tile);
            } else if (batch) {
                cx.k.pack_weights(W, o0, s.panel);
                panel_times_tokens(cx.k.gemm_16x6, s.panel, in, x, n, y, out, o0, s.tile);
            } else {
                rows_times_tokens(cx.k, W, o0, rows, x, x_stride, n, y, out);
            }
            for (int64_t t = 0; t < n; ++t) {
                float* yt = y + t * out + o0;
                for (int64_t o = 0; o < rows; ++o) yt[o] += bias[o0 + o];
                if (act == Epilogue::GeluNew) cx.k.gelu_new(yt, rows);
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

// One query against `positions` keys and values of element type T (rows `stride` apart):
// scores, softmax, then the values they weight, by the kernels for T.
template <class T>
static void attend(void (*key_scores)(const float*, const T*, int64_t, int64_t, int64_t, float*),
                   void (*weighted_sum)(const float*, const T*, int64_t, int64_t, int64_t, float*),
                   const CpuKernels& k, const float* q, const T* keys, const T* values, int64_t stride,
                   int64_t positions, int64_t d, float* scores, float* out) {
    key_scores(q, keys, stride, positions, d, scores);
    k.softmax(scores, positions, 1.0f / std::sqrt(float(d)));
    weighted_sum(scores, values, stride, positions, d, out);
}

// A decode step's few queries, one (token, head) at a time: each key and value is read once,
// as stored (a float16 cache by its own kernels, the same sums as over converted rows).
static void attention_one_query(const CpuKernels& k, const AttentionShape& s, int64_t t, int h, const float* q,
                                const void* k_cache, const void* v_cache, int pos0, float* out, float* scores) {
    const int64_t d = s.head_dim, q_stride = int64_t(s.heads) * d, kv_stride = s.row_stride;
    const int64_t kv = int64_t(h / (s.heads / s.kv_heads)) * s.head_stride, positions = pos0 + t + 1;
    const float* qv = q + t * q_stride + int64_t(h) * d;
    float* o = out + t * q_stride + int64_t(h) * d;
    if (s.kv_type == DType::F16)
        attend(k.key_scores_f16, k.weighted_sum_f16, k, qv, static_cast<const uint16_t*>(k_cache) + kv,
               static_cast<const uint16_t*>(v_cache) + kv, kv_stride, positions, d, scores, o);
    else
        attend(k.key_scores, k.weighted_sum, k, qv, static_cast<const float*>(k_cache) + kv,
               static_cast<const float*>(v_cache) + kv, kv_stride, positions, d, scores, o);
}

// A prompt's n queries for head h, on the panel kernel: the head's keys packed into 16-key
// panels (k-major over the head's dims) meet 6 queries at a time (scores), then its values,
// packed into 16-dim panels over the positions, meet the 6 rows of probabilities. One query
// at a time reads every key and value once per query: at 1024 tokens that took a quarter of
// the prompt's time. Keys and values past the last position are copies of it, so every load
// is of real data; their probabilities are zero. keys and values: the head's rows, position j's
// at j * kv_stride.
static void attention_one_head(const CpuKernels& k, const AttentionShape& s, int h, const float* q,
                               const float* head_keys, const float* head_values, int64_t kv_stride, int64_t n,
                               int pos0, float* out, float* scratch) {
    const int64_t d = s.head_dim, q_stride = int64_t(s.heads) * d;
    const int64_t positions = pos0 + n, span = round_to_panel(positions);
    float* keys = scratch;                                 // [span / 16][d][16]
    float* values = keys + span * d;                       // [round_to_panel(d) / 16][span][16]
    float* probs = values + round_to_panel(d) * span;      // [kPanelTokens][span]
    for (int64_t b = 0; b < span; b += kPanelRows) {
        const float* rows[kPanelRows];
        for (int64_t r = 0; r < kPanelRows; ++r) rows[r] = head_keys + std::min(b + r, positions - 1) * kv_stride;
        k.pack_panel(rows, d, keys + b * d);
    }
    for (int64_t c = 0; c < d; c += kPanelRows)
        for (int64_t j = 0; j < span; ++j) {
            const float* v = head_values + std::min(j, positions - 1) * kv_stride + c;
            float* p = values + c * span + j * kPanelRows;
            for (int64_t r = 0; r < kPanelRows; ++r) p[r] = c + r < d ? v[r] : 0.0f;
        }
    for (int64_t t0 = 0; t0 < n; t0 += kPanelTokens) {
        const int64_t tokens = std::min(kPanelTokens, n - t0), reach = round_to_panel(pos0 + t0 + tokens);
        const float* xs[kPanelTokens];
        float* acc[kPanelTokens];
        std::fill_n(probs, kPanelTokens * span, 0.0f);
        for (int64_t t = 0; t < kPanelTokens; ++t) xs[t] = q + (t0 + std::min(t, tokens - 1)) * q_stride + int64_t(h) * d;
        for (int64_t b = 0; b < reach; b += kPanelRows) {
            for (int64_t t = 0; t < kPanelTokens; ++t) acc[t] = probs + t * span + b;
            k.gemm_16x6(keys + b * d, xs, d, acc);
        }
        for (int64_t t = 0; t < tokens; ++t) {
            const int64_t seen = pos0 + t0 + t + 1;
            k.softmax(probs + t * span, seen, 1.0f / std::sqrt(float(d)));
            std::fill(probs + t * span + seen, probs + t * span + reach, 0.0f);
        }
        for (int64_t t = 0; t < kPanelTokens; ++t) xs[t] = probs + std::min(t, tokens - 1) * span;
        for (int64_t c = 0; c < d; c += kPanelRows) {
            float tile[kPanelRows * kPanelTokens] = {};
            for (int64_t t = 0; t < kPanelTokens; ++t) acc[t] = tile + t * kPanelRows;
            k.gemm_16x6(values + c * span, xs, reach, acc);
            for (int64_t t = 0; t < tokens; ++t)
                std::copy_n(tile + t * kPanelRows, std::min(kPanelRows, d - c), out + (t0 + t) * q_stride + int64_t(h) * d + c);
        }
    }
}

// A prompt's head h from the cache as stored: a float16 cache's rows are first converted into
// float32 rows past the panels' space in scratch (the panel path then runs unchanged).
static void attention_one_head_cached(const CpuKernels& k, const AttentionShape& s, int h, const float* q,
                                      const void* k_cache, const void* v_cache, int64_t n, int pos0, float* out,
                                      float* scratch) {
    const int64_t kv = int64_t(h / (s.heads / s.kv_heads)) * s.head_stride;
    if (s.kv_type != DType::F16) {
        attention_one_head(k, s, h, q, static_cast<const float*>(k_cache) + kv, static_cast<const float*>(v_cache) + kv,
                           s.row_stride, n, pos0, out, scratch);
        return;
    }
    const int64_t d = s.head_dim, positions = pos0 + n;
    float* keys = scratch + attention_scratch_floats(positions, d, DType::F32);
    float* values = keys + positions * d;
    for (int64_t j = 0; j < positions; ++j) {
        k.f16_to_f32(static_cast<const uint16_t*>(k_cache) + kv + j * s.row_stride, keys + j * d, d);
        k.f16_to_f32(static_cast<const uint16_t*>(v_cache) + kv + j * s.row_stride, values + j * d, d);
    }
    attention_one_head(k, s, h, q, keys, values, d, n, pos0, out, scratch);
}

void attention(CpuContext& cx, const AttentionShape& s, const float* q, const void* k_cache, const void* v_cache,
               int64_t n, int pos0, float* out) {
    // Working space lives in the thread's scratch, linear in the context length, never quadratic.
    if (n > kMaxDecodeTokens) {
        cx.pool.parallel_for(s.heads, [&](int64_t begin, int64_t end, int thread) {
            for (int64_t h = begin; h < end; ++h)
                attention_one_head_cached(cx.k, s, int(h), q, k_cache, v_cache, n, pos0, out,
                                          cx.scratch[thread].attention);
        });
        return;
    }
    cx.pool.parallel_for(n * s.heads, [&](int64_t begin, int64_t end, int thread) {
        for (int64_t item = begin; item < end; ++item)
            attention_one_query(cx.k, s, item / s.heads, int(item % s.heads), q, k_cache, v_cache, pos0, out,
                                cx.scratch[thread].attention);
    });
}

}  // namespace phidesk
