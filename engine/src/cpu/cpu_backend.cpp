// The Phi forward pass on the CPU, float32 math over weights kept in their stored dtype.
#include "cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kv_cache.h"
#include "ops.h"
#include "phidesk/error.h"
#include "phidesk/model.h"
#include "quantize.h"

namespace phidesk {
namespace {

constexpr int kMaxBatch = 128;   // prompt tokens processed per pass (bounds activation memory)

// Biases and LayerNorm parameters as float32 (small; the matrices stay as stored).
struct LayerVectors {
    std::vector<float> ln_w, ln_b, q_b, k_b, v_b, dense_b, fc1_b, fc2_b;
};

class CpuBackend final : public Backend {
public:
    CpuBackend(std::shared_ptr<const Model> model, const BackendOptions& o);

    std::string description() const override {
        std::string d = std::string("cpu (") + kernels_.name + ", " + std::to_string(pool_.size()) + " threads" +
                        (cache_.dtype == DType::F16 ? ", float16 KV cache)" : ")");
        return note().empty() ? d : d + "; no GPU: " + note();
    }
    // A float16 cache rounds every key and value: float16 agreement, not float32's.
    Precision precision() const override { return cache_.dtype == DType::F16 ? Precision::F16 : Precision::F32; }
    int context_length() const override { return cache_.context; }
    size_t kv_cache_bytes() const override { return cache_.bytes(); }
    int cached_tokens() const override { return n_past_; }
    void truncate(int n) override { n_past_ = std::clamp(n, 0, n_past_); }
    void eval(std::span<const int32_t> tokens, LogitsFor which, std::vector<float>& logits) override;

private:
    void forward(const int32_t* tokens, int n, float* logits, bool all_logits);
    void layer(int l, int n);

    std::shared_ptr<const Model> model_;
    const ModelConfig& c_;
    const ModelWeights& w_;
    const CpuKernels& kernels_;
    ThreadPool pool_;
    KvCache cache_;
    ScratchBuffers scratch_;   // after cache_: sized for its context
    std::vector<float> q4_input_;
    CpuContext cx_;
    std::vector<LayerVectors> lv_;
    std::vector<float> final_ln_w_, final_ln_b_, lm_head_b_;
    std::vector<float> rope_;   // [position][cos x rotary/2, sin x rotary/2]
    int n_past_ = 0;
    // Activations for one batch of up to kMaxBatch tokens.
    std::vector<float> x_, h_, q_, k_, v_, att_, a_, f_, m_;
};

int64_t widest_input(const ModelConfig& c) { return std::max<int64_t>(c.hidden_size, c.intermediate_size); }

int resolve_context(const ModelConfig& c, int requested) {
    if (requested < 0 || requested > c.max_positions)
        throw Error("context " + std::to_string(requested) + " exceeds the model's max_position_embeddings (" +
                    std::to_string(c.max_positions) + ")");
    return requested ? requested : c.max_positions;
}

CpuBackend::CpuBackend(std::shared_ptr<const Model> model, const BackendOptions& o)
    : model_(std::move(model)),
      c_(model_->config()),
      w_(model_->weights()),
      kernels_(select_cpu_kernels(o.cpu_kernels)),
      pool_(o.threads > 0 ? o.threads : physical_core_count()),
      cache_(kv_cache_type(o.kv_cache), c_.num_layers, resolve_context(c_, o.context), c_.num_kv_heads, c_.head_dim),
      scratch_(pool_.size(), widest_input(c_), cache_.context, c_.head_dim, cache_.dtype),
      cx_{pool_, kernels_, scratch_.data(), nullptr} {
    const int64_t in = widest_input(c_);
    q4_input_.resize(size_t(kMaxDecodeTokens * q4_input_floats(in)));
    cx_.q4_input = q4_input_.data();

    for (const LayerWeights& L : w_.layers)
        lv_.push_back({to_floats(L.ln_w), to_floats(L.ln_b), to_floats(L.q_b), to_floats(L.k_b), to_floats(L.v_b),
                       to_floats(L.dense_b), to_floats(L.fc1_b), to_floats(L.fc2_b)});
    final_ln_w_ = to_floats(w_.final_ln_w);
    final_ln_b_ = to_floats(w_.final_ln_b);
    lm_head_b_ = to_floats(w_.lm_head_b);

    // cos/sin exactly as transformers computes them in float32: inv_freq = theta^(-2i/rotary_dim).
    const int half = c_.rotary_dim / 2;
    rope_.resize(size_t(cache_.context) * size_t(c_.rotary_dim));
    for (int i = 0; i < half; ++i) {
        const float inv_freq = 1.0f / std::pow(c_.rope_theta, float(2 * i) / float(c_.rotary_dim));
        for (int p = 0; p < cache_.context; ++p) {
            const float angle = float(p) * inv_freq;
            rope_[size_t(p) * c_.rotary_dim + i] = std::cos(angle);
            rope_[size_t(p) * c_.rotary_dim + half + i] = std::sin(angle);
        }
    }

    const size_t H = size_t(c_.hidden_size), KV = size_t(cache_.width), B = kMaxBatch;
    for (auto* buf : {&x_, &h_, &q_, &att_, &a_, &m_}) buf->resize(B * H);
    k_.resize(B * KV);
    v_.resize(B * KV);
    f_.resize(B * size_t(c_.intermediate_size));
}

void CpuBackend::eval(std::span<const int32_t> tokens, LogitsFor which, std::vector<float>& logits) {
    const int64_t n = int64_t(tokens.size());
    if (n == 0) throw Error("eval: no tokens");
    if (n_past_ + n > cache_.context)
        throw ContextFullError("context full: " + std::to_string(n_past_) + " cached + " + std::to_string(n) +
                               " new tokens exceed the context of " + std::to_string(cache_.context));
    for (int32_t id : tokens)
        if (id < 0 || id >= c_.vocab_size)
            throw Error("token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                        std::to_string(c_.vocab_size) + ")");
    const size_t V = size_t(c_.vocab_size);
    const bool all = which == LogitsFor::All;
    logits.resize(all ? size_t(n) * V : V);
    for (int64_t start = 0; start < n; start += kMaxBatch) {
        const int m = int(std::min<int64_t>(kMaxBatch, n - start));
        const bool last_batch = start + m == n;
        forward(tokens.data() + start, m, all ? logits.data() + size_t(start) * V : (last_batch ? logits.data() : nullptr),
                all);
    }
}

// One batch of n tokens at positions n_past_...; writes the logits of all n tokens, or of the last.
void CpuBackend::forward(const int32_t* tokens, int n, float* logits, bool all_logits) {
    const int64_t H = c_.hidden_size;
    for (int t = 0; t < n; ++t) {
        float* xt = x_.data() + t * H;
        const float* row = weight_row(kernels_, w_.embed, tokens[t], xt);
        if (row != xt) std::memcpy(xt, row, sizeof(float) * size_t(H));
    }
    for (int l = 0; l < c_.num_layers; ++l) layer(l, n);
    n_past_ += n;
    if (!logits) return;
    const int first = all_logits ? 0 : n - 1, rows = n - first;
    layer_norm(x_.data() + first * H, final_ln_w_.data(), final_ln_b_.data(), c_.layer_norm_eps, rows, H, h_.data());
    linear(cx_, w_.lm_head_w, lm_head_b_.data(), h_.data(), rows, logits);
}

// x = x + attention(LN(x)) + mlp(LN(x)): one LayerNorm feeds both branches (parallel residual).
void CpuBackend::layer(int l, int n) {
    const LayerWeights& L = w_.layers[size_t(l)];
    const LayerVectors& V = lv_[size_t(l)];
    const int64_t H = c_.hidden_size;
    layer_norm(x_.data(), V.ln_w.data(), V.ln_b.data(), c_.layer_norm_eps, n, H, h_.data());

    linear(cx_, L.q_w, V.q_b.data(), h_.data(), n, q_.data());
    linear(cx_, L.k_w, V.k_b.data(), h_.data(), n, k_.data());
    linear(cx_, L.v_w, V.v_b.data(), h_.data(), n, v_.data());
    rope(q_.data(), n, c_.num_heads, c_.head_dim, c_.rotary_dim, rope_.data(), n_past_);
    rope(k_.data(), n, c_.num_kv_heads, c_.head_dim, c_.rotary_dim, rope_.data(), n_past_);
    cache_.store(kernels_, l, n_past_, n, k_.data(), v_.data());
    attention(cx_, {c_.num_heads, c_.num_kv_heads, c_.head_dim, cache_.head_stride(), c_.head_dim, cache_.dtype}, q_.data(),
              cache_.k[size_t(l)].get(), cache_.v[size_t(l)].get(), n, n_past_, att_.data());
    linear(cx_, L.dense_w, V.dense_b.data(), att_.data(), n, a_.data());

    linear(cx_, L.fc1_w, V.fc1_b.data(), h_.data(), n, f_.data(), Epilogue::GeluNew);
    linear(cx_, L.fc2_w, V.fc2_b.data(), f_.data(), n, m_.data());

    for (int64_t i = 0; i < n * H; ++i) x_[size_t(i)] += a_[size_t(i)] + m_[size_t(i)];
}

}  // namespace

DType kv_cache_type(const std::string& name) {
    if (name == "f32") return DType::F32;
    if (name == "f16") return DType::F16;
    throw Error("KV cache type must be f32 or f16, not '" + name + "'");
}

std::unique_ptr<Backend> make_cpu_backend(std::shared_ptr<const Model> model, const BackendOptions& options) {
    if (model->weights_device() >= 0)
        throw Error(model->path().string() + ": its weights were loaded into the memory of cuda:" +
                    std::to_string(model->weights_device()) + "; the CPU needs the model loaded into host memory");
    return std::make_unique<CpuBackend>(std::move(model), options);
}

}  // namespace phidesk
