// The CUDA backend's entry points as one table. The backend is built as a plugin
// (libphidesk-cuda.so, loaded at run time, so that the app installs and runs where CUDA is absent)
// or, for the self-contained GPU check binaries, linked in; both give this table.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "phidesk/backend.h"
#include "phidesk/model.h"
#include "phidesk/version.h"

namespace phidesk {

struct CudaPlugin {
    int abi;
    const char* build;   // C++ types cross the boundary: only the same build may be loaded
    // Every CUDA device, or none with `why` saying why CUDA is unusable (no driver, ...).
    std::vector<DeviceInfo> (*devices)(std::string& why);
    // Throws Error when the device cannot be used (none, old driver, out of memory).
    std::unique_ptr<Backend> (*make_backend)(std::shared_ptr<const Model> model, const BackendOptions& o, int device);
    // Read + write GB/s of a device-to-device copy over `bytes` (median of `runs`); throws Error.
    double (*copy_bandwidth)(int device, size_t bytes, int runs);
    // A .phz model streamed into the device's memory (never whole in host memory); throws Error.
    std::shared_ptr<const Model> (*load_model)(const std::filesystem::path& path, int device,
                                               const Model::LoadProgress& progress);
};

inline constexpr int kCudaPluginAbi = 4;
inline constexpr const char* kCudaPluginBuild = "phidesk " PHIDESK_VERSION_STRING " " __VERSION__;

// The CUDA backend, or nullptr with `why` saying what is missing (no plugin, libcublas absent...).
const CudaPlugin* cuda_plugin(std::string& why);

}  // namespace phidesk

// The plugin's one exported symbol.
extern "C" const phidesk::CudaPlugin* phidesk_cuda_plugin();
