// Safetensors checkpoints, single-file or sharded, memory-mapped and bounds-checked.
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mapped_file.h"
#include "phidesk/tensor.h"

namespace phidesk {

class Checkpoint {
public:
    // `path`: a folder with model.safetensors or model.safetensors.index.json (+ shards),
    // or one .safetensors file. Every header is validated against its file here.
    static Checkpoint open(const std::filesystem::path& path);

    const TensorView* find(const std::string& name) const;
    const TensorView& get(const std::string& name) const;   // throws naming the tensor
    std::vector<std::string> names() const;
    const std::map<std::string, TensorView>& tensors() const { return tensors_; }
    std::string describe() const;                              // file name(s) for messages
    std::shared_ptr<const void> storage() const { return files_; }

private:
    std::map<std::string, TensorView> tensors_;
    std::shared_ptr<std::vector<std::unique_ptr<MappedFile>>> files_;
};

// Parses and validates one file's header; exposed for tests.
std::map<std::string, TensorView> read_safetensors_header(const MappedFile& file);

}  // namespace phidesk
