#include "phidesk/backend.h"

#include "cpu/cpu_backend.h"
#include "phidesk/error.h"

namespace phidesk {

std::unique_ptr<Backend> make_backend(std::shared_ptr<const Model> model, const BackendOptions& options) {
    if (options.backend == "cpu" || options.backend == "auto") return make_cpu_backend(std::move(model), options);
    if (options.backend.rfind("cuda", 0) == 0)
        throw Error("backend '" + options.backend + "': this build has no CUDA backend (use cpu)");
    throw Error("unknown backend '" + options.backend + "' (cpu, auto)");
}

}  // namespace phidesk
