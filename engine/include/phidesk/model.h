// A loaded Phi model: config plus weight views into memory-mapped checkpoint files.
#pragma once
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "phidesk/config.h"
#include "phidesk/tensor.h"

namespace phidesk {

struct LayerWeights {
    TensorView ln_w, ln_b;                  // input_layernorm [H]
    TensorView q_w, q_b, k_w, k_b, v_w, v_b; // [H or kv*hd, H], [..]
    TensorView dense_w, dense_b;            // [H, H], [H]
    TensorView fc1_w, fc1_b;                // [I, H], [I]
    TensorView fc2_w, fc2_b;                // [H, I], [H]
};

struct ModelWeights {
    TensorView embed;                       // [V, H]
    std::vector<LayerWeights> layers;
    TensorView final_ln_w, final_ln_b;      // [H]
    TensorView lm_head_w, lm_head_b;        // [V, H], [V]
};

class Model {
public:
    // `path`: a .phz file, or a Hugging Face folder (config.json + model.safetensors or a
    // sharded index), or one .safetensors file with config.json beside it.
    // `progress` (optional) gets the fraction read so far, increasing to 1, one call at a time
    // (from loader threads; a .phz reports as its chunks decompress, a safetensors map at once).
    using LoadProgress = std::function<void(double fraction)>;
    static std::shared_ptr<const Model> load(const std::filesystem::path& path, const LoadProgress& progress = {});

    const ModelConfig& config() const { return config_; }
    const ModelWeights& weights() const { return weights_; }
    const std::filesystem::path& path() const { return path_; }
    // Bytes of all weights as stored.
    size_t weight_bytes() const;
    // Every tensor the weights use, under its Hugging Face name (whatever the source called it).
    std::vector<std::pair<std::string, const TensorView*>> tensors() const;

    // -1: the weights are in host memory; N: in the memory of GPU N (streamed there from a .phz
    // at load), where only that GPU's backend can read them.
    int weights_device() const { return weights_device_; }

    Model(ModelConfig config, ModelWeights weights, std::filesystem::path path,
          std::shared_ptr<const void> storage, int weights_device = -1);

private:
    ModelConfig config_;
    ModelWeights weights_;
    std::filesystem::path path_;
    std::shared_ptr<const void> storage_;   // keeps the weights' memory (or mapped files) alive
    int weights_device_ = -1;
};

}  // namespace phidesk
