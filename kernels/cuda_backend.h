// The CUDA backend's entry points, in plain C++ (no CUDA types): engine/src/backend.cpp calls
// these when the build has CUDA; nothing else in the project knows CUDA exists.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "phidesk/backend.h"

namespace phidesk::cuda {

// Every CUDA device, or an empty list with `why` saying why CUDA is unusable (no driver, ...).
std::vector<DeviceInfo> devices(std::string& why);
// Throws Error when the device cannot be used (none, old driver, out of memory).
std::unique_ptr<Backend> make_backend(std::shared_ptr<const Model> model, const BackendOptions& o, int device);

}  // namespace phidesk::cuda
