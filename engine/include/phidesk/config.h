// Phi model hyper-parameters, read from a Hugging Face config.json (model_type "phi", or the
// legacy "phi-msft" naming) and validated so that every later shape computation is safe.
#pragma once
#include <filesystem>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace phidesk {

struct ModelConfig {
    std::string model_type;     // "phi" or "phi-msft" as found in the file
    int vocab_size = 0;         // rows of the embedding and lm_head (51200 for phi, padded)
    int hidden_size = 0;
    int num_layers = 0;
    int num_heads = 0;
    int num_kv_heads = 0;       // == num_heads for every released Phi (MHA)
    int head_dim = 0;           // hidden_size / num_heads
    int rotary_dim = 0;         // leading dims of each head that RoPE rotates
    int intermediate_size = 0;
    int max_positions = 0;      // context length
    float rope_theta = 10000.0f;
    float layer_norm_eps = 1e-5f;
    int bos_token_id = 50256;
    int eos_token_id = 50256;
};

// `source` names the file in error messages. Throws phidesk::Error naming the bad field.
ModelConfig parse_config(const nlohmann::json& j, const std::string& source);
ModelConfig load_config(const std::filesystem::path& config_json);

}  // namespace phidesk
