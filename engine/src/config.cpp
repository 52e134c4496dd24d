#include "phidesk/config.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "phidesk/error.h"
#include "json_file.h"

namespace phidesk {
namespace {

using nlohmann::json;

struct Reader {
    const json& j;
    const std::string& source;

    [[noreturn]] void fail(const std::string& field, const std::string& why) const {
        throw Error(source + ": field '" + field + "' " + why);
    }
    bool has(const char* field) const { return j.contains(field) && !j[field].is_null(); }

    int integer(const char* field) const {
        if (!has(field)) fail(field, "is missing");
        const json& v = j[field];
        if (!v.is_number_integer()) fail(field, "must be an integer, not " + v.dump());
        const int64_t x = v.get<int64_t>();
        if (x <= 0 || x > (int64_t(1) << 30)) fail(field, "must be a positive integer below 2^30, not " + v.dump());
        return int(x);
    }
    int integer_or(const char* field, int fallback) const { return has(field) ? integer(field) : fallback; }

    double number(const char* field) const {
        if (!has(field)) fail(field, "is missing");
        if (!j[field].is_number()) fail(field, "must be a number, not " + j[field].dump());
        return j[field].get<double>();
    }
    double number_or(const char* field, double fallback) const { return has(field) ? number(field) : fallback; }

    std::string string_or(const char* field, const std::string& fallback) const {
        if (!has(field)) return fallback;
        if (!j[field].is_string()) fail(field, "must be a string, not " + j[field].dump());
        return j[field].get<std::string>();
    }
};

// model_type "phi" (transformers' PhiConfig).
void read_hf(const Reader& r, ModelConfig& c) {
    c.vocab_size = r.integer("vocab_size");
    c.hidden_size = r.integer("hidden_size");
    c.num_layers = r.integer("num_hidden_layers");
    c.num_heads = r.integer("num_attention_heads");
    c.num_kv_heads = r.integer_or("num_key_value_heads", c.num_heads);
    c.intermediate_size = r.integer("intermediate_size");
    c.max_positions = r.integer("max_position_embeddings");
    c.layer_norm_eps = float(r.number_or("layer_norm_eps", 1e-5));
    c.rope_theta = float(r.number_or("rope_theta", 10000.0));
    const double factor = r.number_or("partial_rotary_factor", 0.5);
    if (!(factor > 0.0 && factor <= 1.0)) r.fail("partial_rotary_factor", "must be in (0, 1]");
    if (c.hidden_size % c.num_heads != 0) r.fail("hidden_size", "must be a multiple of num_attention_heads");
    // Python's int() truncation, as PhiAttention computes it.
    c.rotary_dim = int(double(c.hidden_size / c.num_heads) * factor);
    if (r.has("qk_layernorm") && r.j["qk_layernorm"] != false)
        r.fail("qk_layernorm", "is true: per-head q/k LayerNorm is not supported (no released Phi model uses it)");
    if (r.has("rope_scaling")) r.fail("rope_scaling", "is set: RoPE scaling is not supported");
    const std::string act = r.string_or("hidden_act", "gelu_new");
    if (act != "gelu_new") r.fail("hidden_act", "is '" + act + "': only gelu_new is supported");
}

// model_type "phi-msft" (the original remote-code checkpoints).
void read_legacy(const Reader& r, ModelConfig& c) {
    c.vocab_size = r.integer("vocab_size");
    c.hidden_size = r.integer("n_embd");
    c.num_layers = r.integer("n_layer");
    c.num_heads = r.integer("n_head");
    c.num_kv_heads = r.integer_or("n_head_kv", c.num_heads);        // null: MHA
    c.intermediate_size = r.integer_or("n_inner", 4 * c.hidden_size);  // null: 4 * n_embd
    c.max_positions = r.integer("n_positions");
    c.rotary_dim = r.integer("rotary_dim");
    c.layer_norm_eps = float(r.number_or("layer_norm_epsilon", 1e-5));
    const std::string act = r.string_or("activation_function", "gelu_new");
    if (act != "gelu_new") r.fail("activation_function", "is '" + act + "': only gelu_new is supported");
}

void validate(const Reader& r, ModelConfig& c) {
    if (c.hidden_size % c.num_heads != 0)
        r.fail(c.model_type == "phi" ? "hidden_size" : "n_embd", "must be a multiple of the head count");
    c.head_dim = c.hidden_size / c.num_heads;
    if (c.num_kv_heads > c.num_heads || c.num_heads % c.num_kv_heads != 0)
        r.fail(c.model_type == "phi" ? "num_key_value_heads" : "n_head_kv", "must divide the number of heads");
    if (c.rotary_dim % 2 != 0 || c.rotary_dim > c.head_dim || c.rotary_dim <= 0)
        r.fail(c.model_type == "phi" ? "partial_rotary_factor" : "rotary_dim",
               "gives rotary_dim " + std::to_string(c.rotary_dim) + ", which must be even and in (0, head_dim=" +
                   std::to_string(c.head_dim) + "]");
    if (!(c.layer_norm_eps > 0.0f && c.layer_norm_eps < 1.0f)) r.fail("layer_norm_eps", "must be in (0, 1)");
    if (!(c.rope_theta > 1.0f) || !std::isfinite(c.rope_theta)) r.fail("rope_theta", "must be a finite number > 1");
    // Tokenizer ids; tiny test models may keep phi's 50256 with a smaller vocabulary.
    c.bos_token_id = r.has("bos_token_id") ? r.integer("bos_token_id") : 50256;
    c.eos_token_id = r.has("eos_token_id") ? r.integer("eos_token_id") : 50256;
}

}  // namespace

ModelConfig parse_config(const json& j, const std::string& source) {
    if (!j.is_object()) throw Error(source + ": not a JSON object");
    Reader r{j, source};
    ModelConfig c;
    c.model_type = r.string_or("model_type", "");
    if (c.model_type == "phi")
        read_hf(r, c);
    else if (c.model_type == "phi-msft" || c.model_type == "phi2" || (c.model_type.empty() && r.has("n_embd")))
        read_legacy(r, c);
    else
        r.fail("model_type", "is '" + c.model_type + "': expected \"phi\" or \"phi-msft\"");
    validate(r, c);
    return c;
}

ModelConfig load_config(const std::filesystem::path& path) {
    return parse_config(read_json_file(path, "model config"), path.string());
}

}  // namespace phidesk
