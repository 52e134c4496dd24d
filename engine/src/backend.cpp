#include "phidesk/backend.h"

#include "cpu/cpu_backend.h"
#include "cpu/kernels.h"
#include "phidesk/error.h"
#include "phidesk/model.h"
#if PHIDESK_WITH_CUDA
#include "cuda_backend.h"
#endif

namespace phidesk {

std::vector<std::string> compiled_backends() {
#if PHIDESK_WITH_CUDA
    return {"cpu", "cuda"};
#else
    return {"cpu"};
#endif
}

std::string best_cpu_kernels() {
    return select_cpu_kernels("").name;
}

std::vector<DeviceInfo> gpu_devices(std::string& why) {
#if PHIDESK_WITH_CUDA
    return cuda::devices(why);
#else
    why = "this build has no CUDA backend";
    return {};
#endif
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
#if PHIDESK_WITH_CUDA
            return cuda::make_backend(model, options, int(d));
#endif
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
#if PHIDESK_WITH_CUDA
        int device = 0;
        if (b.size() > 5) {
            try {
                device = std::stoi(b.substr(5));
            } catch (const std::exception&) {
                throw Error("backend '" + b + "': expected cuda:N");
            }
        }
        return cuda::make_backend(std::move(model), options, device);
#else
        throw Error("backend '" + b + "': this build has no CUDA backend (use cpu)");
#endif
    }
    throw Error("unknown backend '" + b + "' (auto, cpu, cuda, cuda:N)");
}

}  // namespace phidesk
