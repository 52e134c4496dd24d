#pragma once
#include <memory>

#include "phidesk/backend.h"

namespace phidesk {

std::unique_ptr<Backend> make_cpu_backend(std::shared_ptr<const Model> model, const BackendOptions& options);

}  // namespace phidesk
