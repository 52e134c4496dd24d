// The compute backend interface: one model instance with its KV cache. The CPU backend
// implements it here; the CUDA backend (kernels/) implements the same interface.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace phidesk {

class Model;
class Sampler;

enum class LogitsFor { Last, All };
// The arithmetic a backend does; it sets how closely it can match float32 references.
enum class Precision { F32, F16, BF16 };

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string description() const = 0;   // e.g. "cpu (avx2, 2 threads)"
    virtual Precision precision() const = 0;
    virtual int context_length() const = 0;
    // The KV cache's size in memory (host or device) for the whole context.
    virtual size_t kv_cache_bytes() const = 0;
    // Positions currently held in the KV cache; the next token goes at this position.
    virtual int cached_tokens() const = 0;
    // Forgets cached positions >= n (keeps a shared prefix for reuse).
    virtual void truncate(int n) = 0;
    // Runs `tokens` at positions cached_tokens()... and appends them to the cache.
    // `logits` receives vocab_size floats per returned position (the last one, or all).
    // Throws ContextFullError when they would not fit, Error for an id outside the vocabulary.
    virtual void eval(std::span<const int32_t> tokens, LogitsFor which, std::vector<float>& logits) = 0;
    // Runs `tokens` like eval and returns the id `sampler` picks from the last position's logits,
    // `recent` being the context for its repetition penalty (it ends with `tokens`). The CPU
    // picks from host logits; a GPU picks on the device, so that only the id (and for top-k
    // sampling the k best values) cross to the host.
    virtual int32_t eval_and_pick(std::span<const int32_t> tokens, Sampler& sampler, std::span<const int32_t> recent);

    // Why this backend was chosen over a GPU ("auto" falling back), "" otherwise.
    const std::string& note() const { return note_; }
    void set_note(std::string n) { note_ = std::move(n); }

private:
    std::string note_;
    std::vector<float> pick_logits_;
};

struct BackendOptions {
    std::string backend = "cpu";   // "cpu", "cuda", "cuda:N", or "auto" (a usable GPU, else the CPU)
    int threads = 0;               // 0: one per physical core
    int context = 0;               // 0: the model's max_position_embeddings
    std::string cpu_kernels;       // "" best available, or force "portable" / "avx2" / "avx512"
    bool gpu_graphs = true;        // CUDA: replay the one-token decode step as a captured graph
    // The CPU backend's KV cache: "f32", or "f16" (half the memory and the bytes a long context's
    // decode step reads; keys and values rounded to float16). A GPU keeps a float32 cache:
    // "cuda" refuses "f16", "auto" on a GPU keeps float32.
    std::string kv_cache = "f32";
};

// Throws Error when the backend cannot be made (no GPU, out of memory, ...); "auto" then falls
// back to the CPU and its description says why.
std::unique_ptr<Backend> make_backend(std::shared_ptr<const Model> model, const BackendOptions& options);

// Loads a model (Model::load's `path`) and makes its backend. A .phz file going to a GPU
// ("cuda[:N]", or "auto" finding one with room) is streamed into the GPU's memory as its chunks
// decompress, never whole in host memory; "auto" falls back to the CPU, saying why.
struct ModelOnBackend {
    std::shared_ptr<const Model> model;
    std::unique_ptr<Backend> backend;
};
ModelOnBackend load_model_on_backend(const std::filesystem::path& path, const BackendOptions& options,
                                     const std::function<void(double fraction)>& progress = {});

struct DeviceInfo {
    std::string id;           // "cuda:0"
    std::string name;
    uint64_t total_bytes = 0, free_bytes = 0;
    int major = 0, minor = 0; // compute capability
};

// The backends available here ("cpu", and "cuda" when its plugin loads), and every GPU; `why`
// says why CUDA is unusable when it is (plugin not installed, no driver, no device).
std::vector<std::string> available_backends();
std::string best_cpu_kernels();   // the SIMD level the CPU backend uses here ("avx512", "avx2", "portable")
std::vector<DeviceInfo> gpu_devices(std::string& why);
// GB/s (read + write) of a copy kernel on the GPU of `backend` ("cuda" or "cuda:N"): the
// bandwidth decode speed is measured against. Error when CUDA is unusable.
double gpu_copy_bandwidth(const std::string& backend, size_t bytes, int runs);

}  // namespace phidesk
