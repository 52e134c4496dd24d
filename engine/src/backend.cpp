#include "phidesk/backend.h"

#include "cpu/cpu_backend.h"
#include "cpu/kernels.h"
#include "cuda_plugin.h"
#include "phidesk/error.h"
#include "phidesk/model.h"

namespace phidesk {

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

}  // namespace

double gpu_copy_bandwidth(int device, size_t bytes, int runs) {
    return require_cuda("")->copy_bandwidth(device, bytes, runs);
}

namespace {

// A GPU for "auto": one whose free memory holds the weights plus a margin for the KV cache.
std::unique_ptr<Backend> auto_backend(std::shared_ptr<const Model> model, const BackendOptions& options) {
    std::string why;
    std::vector<DeviceInfo> gpus = gpu_devices(why);
    for (size_t d = 0; d < gpus.size(); ++d) {
        if (gpus[d].free_bytes < model->weight_bytes() * 5 / 4) {
            why = gpus[d].name + " has too little free memory";
            continue;
        }
        try {
            return cuda_plugin(why)->make_backend(model, options, int(d));   // devices came from it
        } catch (const Error& e) {
            why = e.what();
        }
    }
    auto cpu = make_cpu_backend(std::move(model), options);
    cpu->set_note(why);
    return cpu;
}

}  // namespace

std::unique_ptr<Backend> make_backend(std::shared_ptr<const Model> model, const BackendOptions& options) {
    const std::string& b = options.backend;
    if (b == "cpu") return make_cpu_backend(std::move(model), options);
    if (b == "auto") return auto_backend(std::move(model), options);
    if (b == "cuda" || b.rfind("cuda:", 0) == 0) {
        const CudaPlugin* cuda = require_cuda("backend '" + b + "': ");
        int device = 0;
        if (b.size() > 5) {
            try {
                device = std::stoi(b.substr(5));
            } catch (const std::exception&) {
                throw Error("backend '" + b + "': expected cuda:N");
            }
        }
        return cuda->make_backend(std::move(model), options, device);
    }
    throw Error("unknown backend '" + b + "' (auto, cpu, cuda, cuda:N)");
}

}  // namespace phidesk
