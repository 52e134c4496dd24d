// The compute backend interface: one model instance with its KV cache. The CPU backend
// implements it here; the CUDA backend (kernels/) implements the same interface.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace phidesk {

class Model;

enum class LogitsFor { Last, All };
// The arithmetic a backend does; it sets how closely it can match float32 references.
enum class Precision { F32, F16, BF16 };

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string description() const = 0;   // e.g. "cpu (avx2, 2 threads)"
    virtual Precision precision() const = 0;
    virtual int context_length() const = 0;
    // Positions currently held in the KV cache; the next token goes at this position.
    virtual int cached_tokens() const = 0;
    // Forgets cached positions >= n (keeps a shared prefix for reuse).
    virtual void truncate(int n) = 0;
    // Runs `tokens` at positions cached_tokens()... and appends them to the cache.
    // `logits` receives vocab_size floats per returned position (the last one, or all).
    // Throws ContextFullError when they would not fit, Error for an id outside the vocabulary.
    virtual void eval(std::span<const int32_t> tokens, LogitsFor which, std::vector<float>& logits) = 0;
};

struct BackendOptions {
    std::string backend = "cpu";   // "cpu" (the only one until the CUDA backend lands)
    int threads = 0;               // 0: one per physical core
    int context = 0;               // 0: the model's max_position_embeddings
    std::string cpu_kernels;       // "" best available, or force "portable" / "avx2"
};

std::unique_ptr<Backend> make_backend(std::shared_ptr<const Model> model, const BackendOptions& options);

}  // namespace phidesk
