// The Phi forward pass on an NVIDIA GPU: weights resident in fp16 (or int8/int4 as stored),
// activations and the KV cache in fp32, cuBLAS (fp16 inputs, fp32 accumulation) for the matrix
// products of fp16 weights and of batches. The one-token
// decode step is captured once as a CUDA Graph and replayed per token: a step is ~15 short
// launches per layer, and replaying them as one graph removes the launch cost between them.
#include "cuda_backend.h"

#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "cuda_check.cuh"
#include "cuda_ops.cuh"
#include "phidesk/error.h"
#include "phidesk/model.h"
#include "phidesk/sampler.h"
#include "quantize.h"

namespace phidesk::cuda {
namespace {

using cuda::check;   // the runtime's errors, beside cuBLAS's here

void check(cublasStatus_t e, const char* what) {
    if (e != CUBLAS_STATUS_SUCCESS) throw Error(std::string("cuBLAS: ") + what + " failed (status " + std::to_string(int(e)) + ")");
}

// Device memory that frees itself.
template <class T>
struct DeviceBuffer {
    T* p = nullptr;
    size_t n = 0;
    DeviceBuffer() = default;
    explicit DeviceBuffer(size_t count) : n(count) {
        const size_t bytes = std::max<size_t>(count, 1) * sizeof(T);
        check(cudaMalloc(&p, bytes), ("allocating " + std::to_string((bytes + (1 << 20) - 1) >> 20) + " MB").c_str());
    }
    DeviceBuffer(DeviceBuffer&& o) noexcept : p(std::exchange(o.p, nullptr)), n(o.n) {}
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
        std::swap(p, o.p), std::swap(n, o.n);
        return *this;
    }
    ~DeviceBuffer() { if (p) cudaFree(p); }
};

// What a kernel reads a weight from: a device pointer, and the copy behind it when the backend
// owns one (uploaded from host memory, or converted on the device).
template <class T>
struct DeviceArray {
    const T* p = nullptr;
    DeviceBuffer<T> own;
};

template <class T>
DeviceArray<T> owned(DeviceBuffer<T> b) {
    DeviceArray<T> a;
    a.p = b.p;
    a.own = std::move(b);
    return a;
}

template <class T>
DeviceArray<T> in_place(const void* p) {
    DeviceArray<T> a;
    a.p = static_cast<const T*>(p);
    return a;
}

// The model's weights on this GPU: copied from host memory, or, for a model loaded into this
// GPU's memory, used where they are (its float matrices are fp16 there, its vectors fp32).
class WeightUpload {
public:
    WeightUpload(bool on_device, cudaStream_t s) : on_device_(on_device), s_(s) {}

    // A 2-D weight as fp16 (from host memory: converted one row block at a time, so the host
    // never holds a second copy of the model).
    DeviceArray<half> matrix(const TensorView& t) const {
        const int64_t rows = t.rows(), cols = t.cols();
        if (on_device_) return matrix_on_device(t);
        DeviceBuffer<half> d(size_t(rows * cols));
        if (t.dtype == DType::F16) {
            check(cudaMemcpy(d.p, t.data, size_t(rows * cols) * 2, cudaMemcpyHostToDevice), "upload");
            return owned(std::move(d));
        }
        const int64_t block = std::max<int64_t>(1, (int64_t(1) << 22) / cols);   // ~8 MB of fp16 at a time
        std::vector<float> row(static_cast<size_t>(cols));
        std::vector<half> buf(static_cast<size_t>(block * cols));
        for (int64_t r0 = 0; r0 < rows; r0 += block) {
            const int64_t n = std::min(block, rows - r0);
            for (int64_t r = 0; r < n; ++r) {
                row_to_f32(t, r0 + r, row.data());
                for (int64_t i = 0; i < cols; ++i) buf[size_t(r * cols + i)] = __float2half(row[size_t(i)]);
            }
            check(cudaMemcpy(d.p + r0 * cols, buf.data(), size_t(n * cols) * 2, cudaMemcpyHostToDevice), "upload");
        }
        return owned(std::move(d));
    }

    DeviceArray<float> vector(const TensorView& t) const {
        if (on_device_) {
            if (t.dtype != DType::F32) throw Error(t.name + ": expected fp32 on the device");
            return in_place<float>(t.data);
        }
        const std::vector<float> v = to_floats(t);
        return owned(copy_to_device<float>(v.data(), v.size(), cudaMemcpyHostToDevice));
    }

    // `count` elements as stored (Q8/Q4 values and scales). The matrix-vector kernels read 16
    // bytes at a time: values that follow an odd number of scale groups in the model's memory
    // are copied to an aligned buffer.
    template <class T>
    DeviceArray<T> as_stored(const void* data, size_t count) const {
        if (!on_device_) return owned(copy_to_device<T>(data, count, cudaMemcpyHostToDevice));
        if (reinterpret_cast<uintptr_t>(data) % 16 == 0) return in_place<T>(data);
        return owned(copy_to_device<T>(data, count, cudaMemcpyDeviceToDevice));
    }

private:
    DeviceArray<half> matrix_on_device(const TensorView& t) const {
        if (t.dtype == DType::F16) return in_place<half>(t.data);
        if (!is_quantized(t.dtype)) throw Error(t.name + ": expected fp16 or int8/int4 on the device");
        const int rows = int(t.rows()), cols = int(t.cols());
        DeviceBuffer<half> d(size_t(rows) * size_t(cols));
        const auto* scales = reinterpret_cast<const half*>(t.scales);
        if (t.dtype == DType::Q8) dequantize_q8(static_cast<const int8_t*>(t.data), scales, d.p, rows, cols, s_);
        else dequantize_q4(static_cast<const uint8_t*>(t.data), scales, d.p, rows, cols, s_);
        check(cudaStreamSynchronize(s_), "dequantize");
        return owned(std::move(d));
    }

    template <class T>
    static DeviceBuffer<T> copy_to_device(const void* data, size_t count, cudaMemcpyKind kind) {
        DeviceBuffer<T> d(count);
        check(cudaMemcpy(d.p, data, count * sizeof(T), kind), "upload");
        return d;
    }

    bool on_device_;
    cudaStream_t s_;
};

// A CUDA or cuBLAS handle that releases itself, so that a constructor that throws halfway (out
// of memory for the weights, say) leaks nothing.
template <class H, auto destroy>
struct Owned {
    H h{};
    Owned() = default;
    Owned(const Owned&) = delete;
    Owned& operator=(const Owned&) = delete;
    ~Owned() {
        if (h) destroy(h);
    }
};

// A weight matrix on the device: fp16, or Q8/Q4 values and fp16 scales as stored in the .phz.
struct Linear {
    DType dtype = DType::F16;    // F16, Q8 or Q4
    DeviceArray<half> w;         // F16: [out, in]
    DeviceArray<uint8_t> q;      // Q8/Q4 values
    DeviceArray<half> scales;    // Q8: [out]; Q4: [out, in / 32]
    DeviceArray<float> b;        // [out]
    int out = 0, in = 0;
};

// A batch's quantized matrix is dequantized in blocks of whole multiples of 256 rows into a
// buffer of this many halves (32 MB: 6400 rows of phi-2's 2560), so rows are at most 65536 wide.
constexpr size_t kDequantizedHalves = size_t(16) << 20;
constexpr int kMaxQuantizedIn = int(kDequantizedHalves / 256);

// Quantized weights stay quantized (int4 phi-2 takes 1.75 GB instead of 5.6); rows whose width
// the kernels cannot take (not a multiple of 32, or wider than a dequantized block) become fp16.
Linear upload_linear(const WeightUpload& up, const TensorView& w, const TensorView& b) {
    Linear l;
    l.out = int(w.rows()), l.in = int(w.cols());
    l.b = up.vector(b);
    if (is_quantized(w.dtype) && l.in % 32 == 0 && l.in <= kMaxQuantizedIn) {
        l.dtype = w.dtype;
        l.q = up.as_stored<uint8_t>(w.data, value_bytes(w.dtype, l.out, l.in));
        l.scales = up.as_stored<half>(w.scales, scale_count(w.dtype, l.out, l.in));
    } else {
        l.w = up.matrix(w);
    }
    return l;
}

struct Layer {
    DeviceArray<float> ln_w, ln_b;
    Linear q, k, v, dense, fc1, fc2;
    DeviceBuffer<float> k_cache, v_cache;   // [context, kv_heads*head_dim]
};

constexpr int kMaxBatch = 256;
constexpr int kMaxBest = 256;   // top-k sampling with a larger k picks from host logits

class CudaBackend final : public Backend {
public:
    CudaBackend(std::shared_ptr<const Model> model, const BackendOptions& o, int device);
    ~CudaBackend() override {
        cudaSetDevice(device_);   // the members below live on this device, whichever another backend made current
        if (decode_graph_) cudaGraphExecDestroy(decode_graph_);   // then the members: the handle before its stream
    }
    std::string description() const override { return description_; }
    Precision precision() const override { return Precision::F16; }
    int context_length() const override { return context_; }
    size_t kv_cache_bytes() const override {
        size_t bytes = 0;
        for (const Layer& L : layers_) bytes += (L.k_cache.n + L.v_cache.n) * sizeof(float);
        return bytes;
    }
    int cached_tokens() const override { return n_past_; }
    void truncate(int n) override { n_past_ = std::clamp(n, 0, n_past_); }
    void eval(std::span<const int32_t> tokens, LogitsFor which, std::vector<float>& logits) override;
    int32_t eval_and_pick(std::span<const int32_t> tokens, Sampler& sampler, std::span<const int32_t> recent) override;

private:
    // Runs `tokens` in batches; the head (final LayerNorm, lm_head) for every token when `all`,
    // else for the last. `host`, when given, receives those logits; else they stay in logits_.
    void run(std::span<const int32_t> tokens, bool all, float* host);
    // y[n, out] = x16[n, in] . W^T (fp32 result; bias added by the caller's kernel)
    void matmul(const Linear& l, const half* x16, float* y, int n);
    // Y[n, rows] (row stride ldy) = X[n, in] . W[rows, in]^T for fp16 W: cuBLAS, fp32 accumulation
    void gemm(const half* w, int rows, int in, const half* x16, float* y, int ldy, int n);
    void forward(int n, int head_from, float* host_logits);
    // Enqueues one batch of n tokens at position *pos_; with head_from >= 0 also the final
    // LayerNorm and lm_head for rows head_from..n-1 into logits_.
    void enqueue_step(int n, int head_from);
    void capture_decode_step();

    // Destroyed last: whatever the releases below failed at must not stay the thread's last error,
    // which the next backend's first launch check would report.
    struct ClearsLastError {
        ~ClearsLastError() { cudaGetLastError(); }
    } clears_last_error_;
    std::shared_ptr<const Model> model_;
    const ModelConfig& c_;
    int device_, context_;
    std::string description_;
    Owned<cudaStream_t, cudaStreamDestroy> stream_;
    DeviceBuffer<unsigned char> blas_workspace_;   // cuBLAS must not allocate while a graph is captured
    Owned<cublasHandle_t, cublasDestroy> blas_;
    DeviceArray<half> embed_;
    std::vector<Layer> layers_;
    DeviceArray<float> final_ln_w_, final_ln_b_;
    Linear lm_head_;
    DeviceBuffer<int> ids_;
    DeviceBuffer<float> x_, q_, k_, v_, a_, m_, f_, logits_;
    DeviceBuffer<half> h16_, att16_, f16_;
    DeviceBuffer<float> att_out_, att_max_, att_sum_;   // attention's parts over the KV length
    DeviceBuffer<half> dequantized_;             // a block of quantized rows as fp16, for batches
    DeviceBuffer<int> pos_;                      // n_past_, on the device, read by the kernels
    DeviceBuffer<int> penalized_, best_ids_;     // the sampler's penalty ids in, its best candidates out
    DeviceBuffer<float> best_values_;
    std::vector<int> best_host_ids_ = std::vector<int>(kMaxBest);   // their copies, reused per token
    std::vector<float> best_host_values_ = std::vector<float>(kMaxBest);
    std::vector<std::pair<int32_t, float>> best_;
    bool use_graphs_;
    cudaGraphExec_t decode_graph_ = nullptr;     // the one-token step with its logits, captured on first use
    int n_past_ = 0;
};

CudaBackend::CudaBackend(std::shared_ptr<const Model> model, const BackendOptions& o, int device)
    : model_(std::move(model)), c_(model_->config()), device_(device), use_graphs_(o.gpu_graphs) {
    if (o.context < 0 || o.context > c_.max_positions)
        throw Error("context " + std::to_string(o.context) + " exceeds the model's max_position_embeddings");
    context_ = o.context ? o.context : c_.max_positions;
    check(cudaSetDevice(device_), "cudaSetDevice");
    check(cudaStreamCreate(&stream_.h), "cudaStreamCreate");
    check(cublasCreate(&blas_.h), "cublasCreate");
    check(cublasSetStream(blas_.h, stream_.h), "cublasSetStream");
    blas_workspace_ = DeviceBuffer<unsigned char>(size_t(32) << 20);   // NVIDIA's advice for Hopper
    check(cublasSetWorkspace(blas_.h, blas_workspace_.p, blas_workspace_.n), "cublasSetWorkspace");
    pos_ = DeviceBuffer<int>(1);
    const WeightUpload up(model_->weights_device() == device_, stream_.h);   // make_backend checked it is this one
    const ModelWeights& w = model_->weights();
    embed_ = up.matrix(w.embed);
    const size_t kv = size_t(c_.num_kv_heads) * c_.head_dim;
    for (const LayerWeights& L : w.layers) {
        Layer d;
        d.ln_w = up.vector(L.ln_w), d.ln_b = up.vector(L.ln_b);
        d.q = upload_linear(up, L.q_w, L.q_b), d.k = upload_linear(up, L.k_w, L.k_b);
        d.v = upload_linear(up, L.v_w, L.v_b), d.dense = upload_linear(up, L.dense_w, L.dense_b);
        d.fc1 = upload_linear(up, L.fc1_w, L.fc1_b), d.fc2 = upload_linear(up, L.fc2_w, L.fc2_b);
        d.k_cache = DeviceBuffer<float>(size_t(context_) * kv);
        d.v_cache = DeviceBuffer<float>(size_t(context_) * kv);
        layers_.push_back(std::move(d));
    }
    final_ln_w_ = up.vector(w.final_ln_w), final_ln_b_ = up.vector(w.final_ln_b);
    lm_head_ = upload_linear(up, w.lm_head_w, w.lm_head_b);
    const size_t B = kMaxBatch, H = size_t(c_.hidden_size), I = size_t(c_.intermediate_size);
    ids_ = DeviceBuffer<int>(B);
    x_ = DeviceBuffer<float>(B * H), q_ = DeviceBuffer<float>(B * H), a_ = DeviceBuffer<float>(B * H), m_ = DeviceBuffer<float>(B * H);
    k_ = DeviceBuffer<float>(B * kv), v_ = DeviceBuffer<float>(B * kv);
    f_ = DeviceBuffer<float>(B * I);
    h16_ = DeviceBuffer<half>(B * std::max(H, I)), att16_ = DeviceBuffer<half>(B * H), f16_ = DeviceBuffer<half>(B * I);
    logits_ = DeviceBuffer<float>(B * size_t(c_.vocab_size));
    const size_t parts = B * size_t(c_.num_heads) * size_t(attention_parts(context_));
    att_out_ = DeviceBuffer<float>(parts * size_t(c_.head_dim)), att_max_ = DeviceBuffer<float>(parts);
    att_sum_ = DeviceBuffer<float>(parts);
    penalized_ = DeviceBuffer<int>(size_t(context_));   // distinct ids of the context
    best_ids_ = DeviceBuffer<int>(kMaxBest), best_values_ = DeviceBuffer<float>(kMaxBest);
    bool quantized = lm_head_.dtype != DType::F16;
    for (const Layer& L : layers_)
        for (const Linear* l : {&L.q, &L.k, &L.v, &L.dense, &L.fc1, &L.fc2}) quantized = quantized || l->dtype != DType::F16;
    if (quantized) dequantized_ = DeviceBuffer<half>(kDequantizedHalves);
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, device_), "cudaGetDeviceProperties");
    description_ = std::string("cuda:") + std::to_string(device_) + " (" + prop.name + ", fp16)";
}

void CudaBackend::gemm(const half* w, int rows, int in, const half* x16, float* y, int ldy, int n) {
    const float one = 1.0f, zero = 0.0f;
    // Row-major Y[n,rows] = X[n,in] W[rows,in]^T is column-major Y^T = W^T(as stored, transposed) X^T.
    check(cublasGemmEx(blas_.h, CUBLAS_OP_T, CUBLAS_OP_N, rows, n, in, &one, w, CUDA_R_16F, in, x16, CUDA_R_16F, in, &zero, y,
                       CUDA_R_32F, ldy, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
          "GemmEx");
}

// Quantized weights: one token reads them once, dequantizing in registers; a batch dequantizes
// a block of rows at a time to fp16 and runs cuBLAS on it, so the arithmetic stays on tensor cores.
void CudaBackend::matmul(const Linear& l, const half* x16, float* y, int n) {
    if (l.dtype == DType::F16) return gemm(l.w.p, l.out, l.in, x16, y, l.out, n);
    const bool q8 = l.dtype == DType::Q8;
    if (n == 1) {
        if (q8) matvec_q8(reinterpret_cast<const int8_t*>(l.q.p), l.scales.p, x16, y, l.out, l.in, stream_.h);
        else matvec_q4(l.q.p, l.scales.p, x16, y, l.out, l.in, stream_.h);
        return;
    }
    // Whole multiples of 256 rows, so every block's output columns stay aligned for cuBLAS.
    const int block = int(std::min<size_t>(size_t(l.out), dequantized_.n / size_t(l.in) / 256 * 256));
    for (int r0 = 0; r0 < l.out; r0 += block) {
        const int rows = std::min(block, l.out - r0);
        if (q8)
            dequantize_q8(reinterpret_cast<const int8_t*>(l.q.p) + size_t(r0) * l.in, l.scales.p + r0, dequantized_.p, rows,
                          l.in, stream_.h);
        else
            dequantize_q4(l.q.p + size_t(r0) * (l.in / 2), l.scales.p + size_t(r0) * (l.in / 32), dequantized_.p, rows, l.in,
                          stream_.h);
        gemm(dequantized_.p, rows, l.in, x16, y + r0, l.out, n);
    }
}

void CudaBackend::eval(std::span<const int32_t> tokens, LogitsFor which, std::vector<float>& logits) {
    const bool all = which == LogitsFor::All;
    logits.resize(all ? tokens.size() * size_t(c_.vocab_size) : size_t(c_.vocab_size));
    run(tokens, all, logits.data());
}

int32_t CudaBackend::eval_and_pick(std::span<const int32_t> tokens, Sampler& sampler, std::span<const int32_t> recent) {
    const int k = std::min(sampler.best_count(), c_.vocab_size);
    const std::span<const int32_t> penalized = sampler.penalized(recent);
    if (k <= 0 || k > kMaxBest || penalized.size() > penalized_.n)   // sampling over every logit: on the host
        return Backend::eval_and_pick(tokens, sampler, recent);
    run(tokens, false, nullptr);
    cudaStream_t s = stream_.h;
    if (!penalized.empty())
        check(cudaMemcpyAsync(penalized_.p, penalized.data(), penalized.size() * 4, cudaMemcpyHostToDevice, s),
              "penalized ids");
    const SamplerParams& p = sampler.params();
    best_logits(logits_.p, c_.vocab_size, penalized_.p, int(penalized.size()), p.repeat_penalty, p.temperature, k,
                best_ids_.p, best_values_.p, s);
    check(cudaGetLastError(), "best_logits launch");
    check(cudaMemcpyAsync(best_host_ids_.data(), best_ids_.p, size_t(k) * 4, cudaMemcpyDeviceToHost, s), "best ids");
    check(cudaMemcpyAsync(best_host_values_.data(), best_values_.p, size_t(k) * 4, cudaMemcpyDeviceToHost, s), "best values");
    check(cudaStreamSynchronize(s), "decode step and pick");
    best_.resize(size_t(k));
    for (size_t i = 0; i < best_.size(); ++i) best_[i] = {best_host_ids_[i], best_host_values_[i]};
    return sampler.sample_best(best_);
}

void CudaBackend::run(std::span<const int32_t> tokens, bool all, float* host) {
    const int64_t n = int64_t(tokens.size());
    if (n == 0) throw Error("eval: no tokens");
    if (n_past_ + n > context_)
        throw ContextFullError("context full: " + std::to_string(n_past_) + " cached + " + std::to_string(n) +
                               " new tokens exceed the context of " + std::to_string(context_));
    for (int32_t id : tokens)
        if (id < 0 || id >= c_.vocab_size) throw Error("token id " + std::to_string(id) + " is outside the vocabulary");
    check(cudaSetDevice(device_), "cudaSetDevice");
    for (int64_t start = 0; start < n; start += kMaxBatch) {
        const int m = int(std::min<int64_t>(kMaxBatch, n - start));
        check(cudaMemcpyAsync(ids_.p, tokens.data() + start, size_t(m) * 4, cudaMemcpyHostToDevice, stream_.h), "ids");
        const bool last = start + m == n;
        const int head_from = all ? 0 : last ? m - 1 : -1;
        float* dst = host && head_from >= 0 ? host + size_t(all ? start : 0) * size_t(c_.vocab_size) : nullptr;
        forward(m, head_from, dst);
    }
}

// One batch of n tokens at positions n_past_... (ids already on the device); the head for rows
// head_from.. (none when < 0), their logits copied to host_logits when given.
void CudaBackend::forward(int n, int head_from, float* host_logits) {
    cudaStream_t s = stream_.h;
    // Pageable source: the value is staged before the call returns, so n_past_ may change after.
    check(cudaMemcpyAsync(pos_.p, &n_past_, sizeof(int), cudaMemcpyHostToDevice, s), "position");
    const bool graph_step = n == 1 && head_from == 0;
    if (use_graphs_ && graph_step && !decode_graph_) {
        try {
            capture_decode_step();
        } catch (const Error& e) {   // plain launches still work: use them from now on
            std::fprintf(stderr, "phidesk: CUDA Graph capture failed, decoding without graphs: %s\n", e.what());
            cudaGetLastError();   // clear a launch error left by the capture
            use_graphs_ = false;
        }
    }
    if (use_graphs_ && graph_step) {
        check(cudaGraphLaunch(decode_graph_, s), "cudaGraphLaunch");
    } else {
        enqueue_step(n, head_from);
    }
    check(cudaGetLastError(), "kernel launch");
    n_past_ += n;
    if (!host_logits) return;
    const int rows = n - head_from;
    check(cudaMemcpyAsync(host_logits, logits_.p, size_t(rows) * c_.vocab_size * 4, cudaMemcpyDeviceToHost, s), "logits");
    check(cudaStreamSynchronize(s), "forward");
}

void CudaBackend::enqueue_step(int n, int head_from) {
    const int H = c_.hidden_size, I = c_.intermediate_size, KV = c_.num_kv_heads * c_.head_dim;
    cudaStream_t s = stream_.h;
    embed_rows(ids_.p, embed_.p, x_.p, n, H, s);
    for (Layer& L : layers_) {
        layer_norm_to_half(x_.p, L.ln_w.p, L.ln_b.p, c_.layer_norm_eps, h16_.p, n, H, s);
        matmul(L.q, h16_.p, q_.p, n);
        add_bias(q_.p, L.q.b.p, n, H, s);
        matmul(L.k, h16_.p, k_.p, n);
        add_bias(k_.p, L.k.b.p, n, KV, s);
        matmul(L.v, h16_.p, v_.p, n);
        add_bias(v_.p, L.v.b.p, n, KV, s);
        rope(q_.p, n, c_.num_heads, c_.head_dim, c_.rotary_dim, pos_.p, c_.rope_theta, s);
        rope(k_.p, n, c_.num_kv_heads, c_.head_dim, c_.rotary_dim, pos_.p, c_.rope_theta, s);
        append_kv(k_.p, v_.p, L.k_cache.p, L.v_cache.p, n, KV, pos_.p, s);
        attention_to_half(q_.p, L.k_cache.p, L.v_cache.p, att16_.p, n, pos_.p, context_, c_.num_heads, c_.num_kv_heads,
                          c_.head_dim, {att_out_.p, att_max_.p, att_sum_.p}, s);
        matmul(L.dense, att16_.p, a_.p, n);
        add_bias(a_.p, L.dense.b.p, n, H, s);
        matmul(L.fc1, h16_.p, f_.p, n);
        add_bias_gelu_to_half(f_.p, L.fc1.b.p, f16_.p, n, I, s);
        matmul(L.fc2, f16_.p, m_.p, n);
        add_bias(m_.p, L.fc2.b.p, n, H, s);
        add_residuals(x_.p, a_.p, m_.p, (long long)n * H, s);   // parallel residual: x + attn + mlp
    }
    if (head_from < 0) return;
    const int rows = n - head_from;
    layer_norm_to_half(x_.p + size_t(head_from) * H, final_ln_w_.p, final_ln_b_.p, c_.layer_norm_eps, h16_.p, rows, H, s);
    matmul(lm_head_, h16_.p, logits_.p, rows);
    add_bias(logits_.p, lm_head_.b.p, rows, c_.vocab_size, s);
}

// The graph reads the token id (ids_) and the position (pos_) from the device at each replay;
// everything else about a one-token step is fixed.
void CudaBackend::capture_decode_step() {
    check(cudaStreamBeginCapture(stream_.h, cudaStreamCaptureModeThreadLocal), "graph capture");
    cudaGraph_t graph = nullptr;
    try {
        enqueue_step(1, 0);
    } catch (...) {
        cudaStreamEndCapture(stream_.h, &graph);   // leave the stream usable
        if (graph) cudaGraphDestroy(graph);
        throw;
    }
    check(cudaStreamEndCapture(stream_.h, &graph), "graph capture");
    const cudaError_t e = cudaGraphInstantiate(&decode_graph_, graph, 0);
    cudaGraphDestroy(graph);
    if (e != cudaSuccess) decode_graph_ = nullptr;
    check(e, "cudaGraphInstantiate");
}

}  // namespace

std::vector<DeviceInfo> devices(std::string& why) {
    std::vector<DeviceInfo> out;
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {   // the two usual answers in words a user can act on, the runtime's name kept
        const std::string name = cudaGetErrorName(e);
        if (e == cudaErrorNoDevice) why = "no NVIDIA GPU found [" + name + "]";
        else if (e == cudaErrorInsufficientDriver)
            why = "the NVIDIA driver is missing or older than CUDA " + std::to_string(CUDART_VERSION / 1000) + " needs [" + name + "]";
        else why = name + ": " + cudaGetErrorString(e);
        cudaGetLastError();   // clear it
        return out;
    }
    if (count == 0) why = "no NVIDIA GPU found";
    int current = 0;   // free memory needs each device current in turn; the caller's comes back after
    cudaGetDevice(&current);
    for (int d = 0; d < count; ++d) {
        cudaDeviceProp p{};
        if (const cudaError_t pe = cudaGetDeviceProperties(&p, d); pe != cudaSuccess) {   // kept, so cuda:N stays entry N
            out.push_back({"cuda:" + std::to_string(d), std::string("unreadable [") + cudaGetErrorName(pe) + "]", 0, 0, 0, 0});
            continue;
        }
        size_t free = 0, total = 0;
        if (cudaSetDevice(d) == cudaSuccess) cudaMemGetInfo(&free, &total);
        out.push_back({"cuda:" + std::to_string(d), p.name, uint64_t(p.totalGlobalMem), uint64_t(free), p.major, p.minor});
    }
    if (count > 0) cudaSetDevice(current);
    cudaGetLastError();   // a device that failed above must not fail the next launch check
    return out;
}

void require_usable(int device) {
    std::string why;
    const std::vector<DeviceInfo> all = devices(why);
    if (all.empty()) throw Error("no usable CUDA GPU (" + why + ")");
    if (device < 0 || device >= int(all.size()))
        throw Error("CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(all.size()) + " found)");
    if (all[size_t(device)].total_bytes == 0)
        throw Error("CUDA device " + std::to_string(device) + " cannot be used: its properties are " + all[size_t(device)].name);
    if (all[size_t(device)].major < 8)
        throw Error(all[size_t(device)].name + " (compute capability " + std::to_string(all[size_t(device)].major) + "." +
                    std::to_string(all[size_t(device)].minor) + ") is too old; this build of PhiDesk needs 8.0 or newer");
}

std::unique_ptr<Backend> make_backend(std::shared_ptr<const Model> model, const BackendOptions& o, int device) {
    require_usable(device);
    const int home = model->weights_device();
    if (home >= 0 && home != device)
        throw Error(model->path().string() + ": its weights are on cuda:" + std::to_string(home) + ", not cuda:" +
                    std::to_string(device));
    return std::make_unique<CudaBackend>(std::move(model), o, device);
}

}  // namespace phidesk::cuda
