#include "cuda_plugin.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>

namespace phidesk {
namespace {

#if !PHIDESK_CUDA_LINKED
// Where the plugin may be: $PHIDESK_CUDA_PLUGIN, else lib/phidesk beside the executable's bin/
// folder (an install: /usr/bin -> /usr/lib/phidesk; a build: build/app -> build/lib/phidesk).
std::vector<std::string> plugin_candidates() {
    std::vector<std::string> out;
    if (const char* env = std::getenv("PHIDESK_CUDA_PLUGIN"); env && *env) return {env};
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) out.push_back((exe.parent_path().parent_path() / "lib/phidesk/libphidesk-cuda.so").string());
    return out;
}

const CudaPlugin* load(std::string& why) {
    std::string tried;
    for (const std::string& path : plugin_candidates()) {
        if (!std::filesystem::exists(path)) {
            tried += (tried.empty() ? "" : ", ") + path;
            continue;
        }
        void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);   // never closed: its code backs live objects
        if (!lib) {
            why = std::string("the CUDA backend could not be loaded: ") + dlerror();
            return nullptr;
        }
        auto entry = reinterpret_cast<const CudaPlugin* (*)()>(dlsym(lib, "phidesk_cuda_plugin"));
        const CudaPlugin* p = entry ? entry() : nullptr;
        if (!p || p->abi != kCudaPluginAbi || std::strcmp(p->build, kCudaPluginBuild) != 0) {
            why = path + " is not the CUDA backend of this PhiDesk build (" + kCudaPluginBuild + ")";
            return nullptr;
        }
        return p;
    }
    why = "the CUDA backend is not installed (no " + (tried.empty() ? std::string("plugin path") : tried) +
          "; install the phidesk-cuda package)";
    return nullptr;
}
#endif

}  // namespace

const CudaPlugin* cuda_plugin(std::string& why) {
#if PHIDESK_CUDA_LINKED
    (void)why;
    return phidesk_cuda_plugin();
#else
    static std::once_flag once;
    static const CudaPlugin* plugin = nullptr;
    static std::string reason;
    std::call_once(once, [] { plugin = load(reason); });
    if (!plugin) why = reason;
    return plugin;
#endif
}

}  // namespace phidesk
