#pragma once
#include <filesystem>
#include <memory>

#include "phidesk/model.h"
#include "phz_format.h"

namespace phidesk {

class Model;

bool is_phz_file(const std::filesystem::path& path);
// Reads and validates preamble, header and tensor table (no tensor data).
PhzHeader read_phz_header(const std::filesystem::path& path);
// Decompresses every tensor (all chunks in parallel, checksums verified) into one buffer.
std::shared_ptr<const Model> load_phz_model(const std::filesystem::path& path, int threads = 0,
                                            const Model::LoadProgress& progress = {});

}  // namespace phidesk
