#include "phidesk/backend.h"

#include "cpu/cpu_backend.h"
#include "cpu/kernels.h"
#include "cuda_plugin.h"
#include "phz_reader.h"
#include "phidesk/error.h"
#include "phidesk/model.h"
#include "phidesk/sampler.h"

namespace phidesk {

int32_t Backend::eval_and_pick(std::span<const int32_t> tokens, Sampler& sampler, std::span<const int32_t> recent) {
    eval(tokens, LogitsFor::Last, pick_logits_);
    return sampler.sample(pick_logits_, recent);
}

std::vector<std::string> available_backends() {
    std::string why;
    if (cuda_plugin(why)) return {"cpu", "cuda"};
    return {"cpu"};
}

std::string best_cpu_kernels() {
    return select_cpu_kernels("").name;
}

std::vector<DeviceInfo> gpu_devices(std::string& why) {
    const CudaPlugin* cuda = cuda_plugin(why);
    return cuda ? cuda->devices(why) : std::vector<DeviceInfo>{};
}

namespace {

// The CUDA backend, or an Error saying why it is unusable (prefixed with `what`).
const CudaPlugin* require_cuda(const std::string& what) {
    std::string why;
    const CudaPlugin* cuda = cuda_plugin(why);
    if (!cuda) throw Error(what + why);
    return cuda;
}

bool is_cuda(const std::string& b) { return b == "cuda" || b.rfind("cuda:", 0) == 0; }

// N of "cuda:N"; 0 for "cuda".
int cuda_device(const std::string& b) {
    if (b.size() <= 5) return 0;
    try {
        size_t used = 0;
        const int d = std::stoi(b.substr(5), &used);
        if (used == b.size() - 5 && d >= 0) return d;
    } catch (const std::exception&) {
    }
    throw Error("backend '" + b + "': expected cuda:N");
}

}  // namespace

double gpu_copy_bandwidth(const std::string& backend, size_t bytes, int runs) {
    if (!is_cuda(backend)) throw Error("backend '" + backend + "': expected cuda or cuda:N");
    return require_cuda("")->copy_bandwidth(cuda_device(backend), bytes, runs);
}

namespace {

// The GPUs "auto" may take for `weight_bytes` of weights: free memory for them plus a margin for
// the KV cache. `why` says why none would do.
std::vector<int> gpus_with_room(uint64_t weight_bytes, std::string& why) {
    std::vector<int> out;
    const std::vector<DeviceInfo> gpus = gpu_devices(why);
    for (size_t d = 0; d < gpus.size(); ++d) {
        if (gpus[d].free_bytes >= weight_bytes * 5 / 4) out.push_back(int(d));
        else why = gpus[d].name + " has too little free memory";
    }
    return out;
}

std::unique_ptr<Backend> cpu_backend_noting(std::shared_ptr<const Model> model, const BackendOptions& options,
                                            const std::string& why) {
    auto cpu = make_cpu_backend(std::move(model), options);
    cpu->set_note(why);
    return cpu;
}

// A KV cache type is f32 or f16 (checked for every backend, also one that ignores it); a GPU's
// cache is float32, so an explicit CUDA backend refuses f16.
void check_kv_cache(const BackendOptions& o) {
    const DType type = kv_cache_type(o.kv_cache);
    if (is_cuda(o.backend) && type != DType::F32)
        throw Error("backend '" + o.backend + "' keeps a float32 KV cache; a float16 one is the CPU backend's");
}

// The options "auto" gives a GPU it tries: the float32 cache the GPU keeps, whatever the CPU's setting.
BackendOptions gpu_options(const BackendOptions& o) {
    BackendOptions g = o;
    g.kv_cache = "f32";
    return g;
}

std::unique_ptr<Backend> auto_backend(std::shared_ptr<const Model> model, const BackendOptions& options) {
    std::string why;
    if (model->weights_device() >= 0)   // already in a GPU's memory: that GPU
        return require_cuda("")->make_backend(model, gpu_options(options), model->weights_device());
    for (int d : gpus_with_room(model->weight_bytes(), why)) {
        try {
            return cuda_plugin(why)->make_backend(model, gpu_options(options), d);   // devices came from it
        } catch (const Error& e) {
            why = e.what();
        }
    }
    return cpu_backend_noting(std::move(model), options, why);
}

uint64_t phz_weight_bytes(const std::filesystem::path& path) {
    uint64_t total = 0;
    for (const PhzTensor& t : read_phz_header(path).tensors) total += t.raw_bytes;
    return total;
}

}  // namespace

std::unique_ptr<Backend> make_backend(std::shared_ptr<const Model> model, const BackendOptions& options) {
    check_kv_cache(options);
    const std::string& b = options.backend;
    if (b == "cpu") return make_cpu_backend(std::move(model), options);
    if (b == "auto") return auto_backend(std::move(model), options);
    if (is_cuda(b)) {
        const int device = cuda_device(b);
        return require_cuda("backend '" + b + "': ")->make_backend(std::move(model), options, device);
    }
    throw Error("unknown backend '" + b + "' (auto, cpu, cuda, cuda:N)");
}

ModelOnBackend load_model_on_backend(const std::filesystem::path& path, const BackendOptions& options,
                                     const std::function<void(double fraction)>& progress) {
    check_kv_cache(options);
    const std::string& b = options.backend;
    if (!is_phz_file(path) || (b != "auto" && !is_cuda(b))) {
        auto model = Model::load(path, progress);
        return {model, make_backend(model, options)};
    }
    if (is_cuda(b)) {
        const int device = cuda_device(b);
        const CudaPlugin* cuda = require_cuda("backend '" + b + "': ");
        auto model = cuda->load_model(path, device, progress);
        return {model, cuda->make_backend(model, options, device)};
    }
    std::string why;
    for (int d : gpus_with_room(phz_weight_bytes(path), why)) {
        try {
            const CudaPlugin* cuda = cuda_plugin(why);
            auto model = cuda->load_model(path, d, progress);
            return {model, cuda->make_backend(model, gpu_options(options), d)};
        } catch (const Error& e) {
            why = e.what();
        }
    }
    auto model = Model::load(path, progress);
    return {model, cpu_backend_noting(model, options, why)};
}

}  // namespace phidesk
