// Random checkpoints of the real Phi shapes, for benchmarks (no real weights exist on build
// machines). The output is an ordinary Hugging Face folder: config.json + model.safetensors.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "phidesk/config.h"

namespace phidesk {

// "phi-1", "phi-1_5", "phi-2", "tiny-phi2", "tiny-phi15", "micro-phi".
ModelConfig synth_preset(const std::string& name);
std::vector<std::string> synth_presets();

// Weights N(0, 0.02) (transformers' initializer_range), LayerNorm gains near 1, stored as F16
// or BF16; reproducible from `seed`. Uses all cores.
void write_synthetic_checkpoint(const ModelConfig& c, uint64_t seed, const std::string& dtype,
                                const std::filesystem::path& out_dir);

class Model;
// The same random weights, made in memory: F16, or with the matrices (not the embedding)
// quantized to "int8" / "int4" as a .phz conversion would.
std::shared_ptr<const Model> synthetic_model(const ModelConfig& c, uint64_t seed, const std::string& quant);

}  // namespace phidesk
