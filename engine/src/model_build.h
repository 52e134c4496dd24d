#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "phidesk/model.h"

namespace phidesk {

// Maps named tensors (either naming) onto the architecture, checking every shape against the
// config; `source` names the file(s) in errors; `storage` keeps the tensors' memory alive, which
// is GPU `weights_device`'s memory when >= 0.
std::shared_ptr<const Model> make_model(const ModelConfig& config, const std::map<std::string, TensorView>& tensors,
                                        const std::string& source, const std::filesystem::path& path,
                                        std::shared_ptr<const void> storage, int weights_device = -1);

}  // namespace phidesk
