#include "phidesk/synth.h"

#include <fstream>
#include <map>
#include <random>
#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

#include "phidesk/error.h"
#include "phidesk/tensor.h"
#include "model_build.h"
#include "quantize.h"
#include "weight_memory.h"

namespace phidesk {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Preset {
    const char* name;
    int hidden, layers, heads, intermediate, vocab, positions;
    double rotary_factor;
};
constexpr Preset kPresets[] = {
    {"phi-1", 2048, 24, 32, 8192, 51200, 2048, 0.5},  {"phi-1_5", 2048, 24, 32, 8192, 51200, 2048, 0.5},
    {"phi-2", 2560, 32, 32, 10240, 51200, 2048, 0.4}, {"tiny-phi2", 160, 2, 2, 640, 51200, 2048, 0.4},
    {"tiny-phi15", 128, 3, 2, 512, 51200, 2048, 0.5}, {"micro-phi", 64, 2, 4, 256, 512, 256, 0.5},
};

json config_json(const ModelConfig& c) {
    return {{"architectures", {"PhiForCausalLM"}}, {"model_type", "phi"}, {"vocab_size", c.vocab_size},
            {"hidden_size", c.hidden_size}, {"num_hidden_layers", c.num_layers}, {"num_attention_heads", c.num_heads},
            {"num_key_value_heads", c.num_kv_heads}, {"intermediate_size", c.intermediate_size},
            {"max_position_embeddings", c.max_positions},
            {"partial_rotary_factor", double(c.rotary_dim) / double(c.head_dim)}, {"rope_theta", 10000.0},
            {"layer_norm_eps", 1e-5}, {"hidden_act", "gelu_new"}, {"qk_layernorm", false}, {"rope_scaling", nullptr},
            {"tie_word_embeddings", false}, {"bos_token_id", 50256}, {"eos_token_id", 50256}, {"torch_dtype", "float16"}};
}

struct Spec {
    std::string name;
    std::vector<int64_t> shape;
    float mean, std;
};

std::vector<Spec> tensor_specs(const ModelConfig& c) {
    const int64_t H = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
    std::vector<Spec> s = {{"model.embed_tokens.weight", {V, H}, 0, 0.02f}};
    for (int l = 0; l < c.num_layers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        s.push_back({p + "input_layernorm.weight", {H}, 1, 0.05f});
        s.push_back({p + "input_layernorm.bias", {H}, 0, 0.02f});
        for (const char* m : {"q_proj", "k_proj", "v_proj", "dense"}) {
            s.push_back({p + "self_attn." + m + ".weight", {H, H}, 0, 0.02f});
            s.push_back({p + "self_attn." + m + ".bias", {H}, 0, 0.02f});
        }
        s.push_back({p + "mlp.fc1.weight", {I, H}, 0, 0.02f});
        s.push_back({p + "mlp.fc1.bias", {I}, 0, 0.02f});
        s.push_back({p + "mlp.fc2.weight", {H, I}, 0, 0.02f});
        s.push_back({p + "mlp.fc2.bias", {H}, 0, 0.02f});
    }
    s.push_back({"model.final_layernorm.weight", {H}, 1, 0.05f});
    s.push_back({"model.final_layernorm.bias", {H}, 0, 0.02f});
    s.push_back({"lm_head.weight", {V, H}, 0, 0.02f});
    s.push_back({"lm_head.bias", {V}, 0, 0.02f});
    return s;
}

// Fills `out` with 16-bit values; blocks of 64 Ki elements get their own seeded generator,
// so the result does not depend on the thread count.
void fill(std::vector<uint16_t>& out, const Spec& s, uint64_t seed, bool bf16) {
    constexpr size_t kBlock = 1 << 16;
    const size_t blocks = (out.size() + kBlock - 1) / kBlock;
    const unsigned n = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < n; ++t)
        threads.emplace_back([&, t] {
            for (size_t b = t; b < blocks; b += n) {
                std::mt19937_64 rng(seed ^ (std::hash<std::string>{}(s.name) + b * 0x9E3779B97F4A7C15ull));
                std::normal_distribution<float> d(s.mean, s.std);
                for (size_t i = b * kBlock; i < std::min(out.size(), (b + 1) * kBlock); ++i)
                    out[i] = bf16 ? f32_to_bf16(d(rng)) : f32_to_f16(d(rng));
            }
        });
    for (std::thread& t : threads) t.join();
}

}  // namespace

std::shared_ptr<const Model> synthetic_model(const ModelConfig& c, uint64_t seed, const std::string& quant) {
    if (quant != "f16" && quant != "int8" && quant != "int4") throw Error("--quant must be f16, int8 or int4");
    const DType q = quant == "int8" ? DType::Q8 : quant == "int4" ? DType::Q4 : DType::F16;
    auto quantized = [&](const Spec& s) { return q != DType::F16 && s.shape.size() == 2 && s.name != "model.embed_tokens.weight"; };
    // Bytes a tensor takes in the block, 64-byte aligned: F16 values, or scales then values.
    auto stored_bytes = [&](const Spec& s) {
        const int64_t rows = s.shape[0], cols = s.shape.size() == 2 ? s.shape[1] : 1;
        const size_t bytes = quantized(s) ? 2 * scale_count(q, rows, cols) + value_bytes(q, rows, cols) : size_t(rows * cols) * 2;
        return (bytes + 63) / 64 * 64;
    };
    // One block for all weights, as a .phz load gives (huge pages), sized before anything is made.
    size_t total = 0;
    for (const Spec& s : tensor_specs(c)) total += stored_bytes(s);
    const std::shared_ptr<uint8_t> mem = allocate_weight_memory(total, "synthetic " + quant + " model");
    std::map<std::string, TensorView> tensors;
    std::vector<uint16_t> buf;
    size_t offset = 0;
    for (const Spec& s : tensor_specs(c)) {
        int64_t n = 1;
        for (int64_t d : s.shape) n *= d;
        buf.resize(size_t(n));
        fill(buf, s, seed, false);
        TensorView t{s.name, DType::F16, s.shape, buf.data(), nullptr};
        uint8_t* dst = mem.get() + offset;
        if (quantized(s)) {
            const std::vector<uint8_t> payload = quantize(q, t);
            std::memcpy(dst, payload.data(), payload.size());
            t.dtype = q;
            t.scales = reinterpret_cast<const uint16_t*>(dst);
            t.data = dst + 2 * scale_count(q, t.rows(), t.cols());
        } else {
            std::memcpy(dst, buf.data(), size_t(n) * 2);
            t.data = dst;
        }
        offset += stored_bytes(s);
        tensors.emplace(s.name, t);
    }
    return make_model(c, tensors, "synthetic " + quant, "synthetic", mem);
}

std::vector<std::string> synth_presets() {
    std::vector<std::string> out;
    for (const Preset& p : kPresets) out.push_back(p.name);
    return out;
}

ModelConfig synth_preset(const std::string& name) {
    for (const Preset& p : kPresets) {
        if (name != p.name) continue;
        json j = {{"model_type", "phi"}, {"vocab_size", p.vocab}, {"hidden_size", p.hidden}, {"num_hidden_layers", p.layers},
                  {"num_attention_heads", p.heads}, {"intermediate_size", p.intermediate},
                  {"max_position_embeddings", p.positions}, {"partial_rotary_factor", p.rotary_factor}};
        return parse_config(j, std::string("preset ") + name);
    }
    throw Error("unknown preset '" + name + "'");
}

void write_synthetic_checkpoint(const ModelConfig& c, uint64_t seed, const std::string& dtype, const fs::path& dir) {
    if (dtype != "f16" && dtype != "bf16") throw Error("synth dtype must be f16 or bf16");
    const bool bf16 = dtype == "bf16";
    fs::create_directories(dir);
    json cfg = config_json(c);
    cfg["torch_dtype"] = bf16 ? "bfloat16" : "float16";
    std::ofstream(dir / "config.json") << cfg.dump(2) << "\n";

    const std::vector<Spec> specs = tensor_specs(c);
    json header = {{"__metadata__", {{"format", "pt"}}}};
    uint64_t offset = 0;
    for (const Spec& s : specs) {
        uint64_t n = 2;
        for (int64_t d : s.shape) n *= uint64_t(d);
        header[s.name] = {{"dtype", bf16 ? "BF16" : "F16"}, {"shape", s.shape}, {"data_offsets", {offset, offset + n}}};
        offset += n;
    }
    std::string h = header.dump();
    while ((8 + h.size()) % 8) h += ' ';
    const fs::path out_path = dir / "model.safetensors";
    std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
    for (int i = 0; i < 8; ++i) out.put(char((uint64_t(h.size()) >> (8 * i)) & 0xff));
    out << h;
    // Offsets were assigned in `specs` order (the JSON itself sorts its keys): write in that order.
    std::vector<uint16_t> buf;
    for (const Spec& s : specs) {
        int64_t n = 1;
        for (int64_t d : s.shape) n *= d;
        buf.resize(size_t(n));
        fill(buf, s, seed, bf16);
        out.write(reinterpret_cast<const char*>(buf.data()), std::streamsize(buf.size() * 2));
    }
    if (!out.flush()) throw Error(out_path.string() + ": write failed (disk full?)");
}

}  // namespace phidesk
