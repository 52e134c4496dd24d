#pragma once
#include <memory>

#include "phidesk/backend.h"
#include "phidesk/tensor.h"

namespace phidesk {

// BackendOptions::kv_cache as the cache's element type: "f32" F32, "f16" F16; Error otherwise.
DType kv_cache_type(const std::string& name);
std::unique_ptr<Backend> make_cpu_backend(std::shared_ptr<const Model> model, const BackendOptions& options);

}  // namespace phidesk
