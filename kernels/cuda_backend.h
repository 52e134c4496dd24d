// The CUDA backend's entry points, in plain C++ (no CUDA types). They reach the engine through
// the table in cuda_plugin_entry.cpp; nothing else in the project knows CUDA exists.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "phidesk/backend.h"
#include "phidesk/model.h"

namespace phidesk::cuda {

// Every CUDA device, or an empty list with `why` saying why CUDA is unusable (no driver, ...).
std::vector<DeviceInfo> devices(std::string& why);
// Throws Error when `device` does not exist or is too old.
void require_usable(int device);
// Throws Error when the device cannot be used (none, old driver, out of memory). A model whose
// weights were loaded into this device's memory (load_model) is used in place.
std::unique_ptr<Backend> make_backend(std::shared_ptr<const Model> model, const BackendOptions& o, int device);
// A .phz model loaded into the memory of `device`, its chunks streamed there as they decompress.
std::shared_ptr<const Model> load_model(const std::filesystem::path& path, int device, const Model::LoadProgress& progress);
// Read + write GB/s of a device-to-device copy kernel over `bytes` (median of `runs`).
double copy_bandwidth(int device, size_t bytes, int runs);

}  // namespace phidesk::cuda
