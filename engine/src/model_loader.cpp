// Maps a checkpoint's tensors onto the Phi architecture: both namings (HF-native and the
// legacy phi-msft one with fused Wqkv), every shape checked against the config.
// Tensors the architecture does not use (e.g. rotary_emb.inv_freq) are ignored.
#include <map>

#include "model_build.h"
#include "phidesk/error.h"
#include "phz_reader.h"
#include "safetensors.h"

namespace phidesk {
namespace fs = std::filesystem;

namespace {

// Where each weight lives under one of the two namings (see shared/reference/README.md).
struct Naming {
    const char* embed;
    const char* layer;      // prefix before the layer number
    const char* ln;
    const char* qkv_fused;  // nullptr: separate q_proj/k_proj/v_proj
    const char* dense;
    const char* fc1;
    const char* fc2;
    const char* final_ln;
    const char* lm_head;
};
constexpr Naming kHfNames = {"model.embed_tokens", "model.layers.", "input_layernorm", nullptr,
                             "self_attn.dense", "mlp.fc1", "mlp.fc2", "model.final_layernorm", "lm_head"};
constexpr Naming kLegacyNames = {"transformer.embd.wte", "transformer.h.", "ln", "mixer.Wqkv",
                                 "mixer.out_proj", "mlp.fc1", "mlp.fc2", "lm_head.ln", "lm_head.linear"};

struct WeightReader {
    const std::map<std::string, TensorView>& tensors;
    const std::string& source;

    TensorView get(const std::string& name, std::vector<int64_t> shape) const {
        auto it = tensors.find(name);
        if (it == tensors.end()) throw Error(source + ": missing tensor " + name);
        const TensorView& t = it->second;
        if (t.shape != shape)
            throw Error(source + ": tensor " + name + " has shape " + shape_string(t.shape) +
                        ", the config needs " + shape_string(shape));
        if (shape.size() == 1 && is_quantized(t.dtype)) throw Error(source + ": vector " + name + " cannot be quantized");
        return t;
    }
    // A Linear (or LayerNorm when in == 0): weight [out, in] and bias [out].
    void linear(const std::string& name, int64_t out, int64_t in, TensorView& w, TensorView& b) const {
        w = in ? get(name + ".weight", {out, in}) : get(name + ".weight", {out});
        b = get(name + ".bias", {out});
    }
};

ModelWeights read_weights(const WeightReader& r, const Naming& n, const ModelConfig& c) {
    const int64_t H = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
    const int64_t KV = int64_t(c.num_kv_heads) * c.head_dim;
    ModelWeights w;
    w.embed = r.get(std::string(n.embed) + ".weight", {V, H});
    for (int l = 0; l < c.num_layers; ++l) {
        const std::string p = n.layer + std::to_string(l) + ".";
        LayerWeights L;
        r.linear(p + n.ln, H, 0, L.ln_w, L.ln_b);
        if (n.qkv_fused) {
            // Fused rows are (three, head, head_dim): all q rows, then k, then v, so q/k/v
            // are plain row ranges of it (views, no copy).
            TensorView qkv_w, qkv_b;
            r.linear(p + n.qkv_fused, H + 2 * KV, H, qkv_w, qkv_b);
            L.q_w = qkv_w.slice_rows(0, H), L.k_w = qkv_w.slice_rows(H, KV), L.v_w = qkv_w.slice_rows(H + KV, KV);
            L.q_b = qkv_b.slice_rows(0, H), L.k_b = qkv_b.slice_rows(H, KV), L.v_b = qkv_b.slice_rows(H + KV, KV);
        } else {
            r.linear(p + "self_attn.q_proj", H, H, L.q_w, L.q_b);
            r.linear(p + "self_attn.k_proj", KV, H, L.k_w, L.k_b);
            r.linear(p + "self_attn.v_proj", KV, H, L.v_w, L.v_b);
        }
        r.linear(p + n.dense, H, H, L.dense_w, L.dense_b);
        r.linear(p + n.fc1, I, H, L.fc1_w, L.fc1_b);
        r.linear(p + n.fc2, H, I, L.fc2_w, L.fc2_b);
        w.layers.push_back(L);
    }
    r.linear(n.final_ln, H, 0, w.final_ln_w, w.final_ln_b);
    r.linear(n.lm_head, V, H, w.lm_head_w, w.lm_head_b);
    return w;
}

}  // namespace

Model::Model(ModelConfig config, ModelWeights weights, fs::path path, std::shared_ptr<const void> storage,
             int weights_device)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      path_(std::move(path)),
      storage_(std::move(storage)),
      weights_device_(weights_device) {}

std::shared_ptr<const Model> make_model(const ModelConfig& config, const std::map<std::string, TensorView>& tensors,
                                        const std::string& source, const fs::path& path,
                                        std::shared_ptr<const void> storage, int weights_device) {
    const WeightReader reader{tensors, source};
    const bool legacy = tensors.count(std::string(kLegacyNames.embed) + ".weight") > 0;
    ModelWeights weights = read_weights(reader, legacy ? kLegacyNames : kHfNames, config);
    return std::make_shared<const Model>(config, std::move(weights), path, std::move(storage), weights_device);
}

std::shared_ptr<const Model> Model::load(const fs::path& path, const LoadProgress& progress) {
    if (!fs::exists(path)) throw Error(path.string() + ": no such file or folder");
    if (is_phz_file(path)) return load_phz_model(path, 0, progress);
    const fs::path dir = fs::is_directory(path) ? path : path.parent_path();
    const ModelConfig config = load_config(dir / "config.json");
    const Checkpoint ckpt = Checkpoint::open(path);
    auto model = make_model(config, ckpt.tensors(), ckpt.describe(), path, ckpt.storage());
    if (progress) progress(1.0);   // mapped: the pages come in as they are used
    return model;
}

std::vector<std::pair<std::string, const TensorView*>> Model::tensors() const {
    const ModelWeights& w = weights_;
    const std::string e = kHfNames.embed, f = kHfNames.final_ln, h = kHfNames.lm_head;
    std::vector<std::pair<std::string, const TensorView*>> out = {{e + ".weight", &w.embed}};
    for (size_t l = 0; l < w.layers.size(); ++l) {
        const LayerWeights& L = w.layers[l];
        const std::string p = kHfNames.layer + std::to_string(l) + ".";
        const std::pair<const char*, const TensorView*> named[] = {
            {"input_layernorm.weight", &L.ln_w}, {"input_layernorm.bias", &L.ln_b},
            {"self_attn.q_proj.weight", &L.q_w}, {"self_attn.q_proj.bias", &L.q_b},
            {"self_attn.k_proj.weight", &L.k_w}, {"self_attn.k_proj.bias", &L.k_b},
            {"self_attn.v_proj.weight", &L.v_w}, {"self_attn.v_proj.bias", &L.v_b},
            {"self_attn.dense.weight", &L.dense_w}, {"self_attn.dense.bias", &L.dense_b},
            {"mlp.fc1.weight", &L.fc1_w}, {"mlp.fc1.bias", &L.fc1_b},
            {"mlp.fc2.weight", &L.fc2_w}, {"mlp.fc2.bias", &L.fc2_b}};
        for (const auto& [name, t] : named) out.emplace_back(p + name, t);
    }
    out.insert(out.end(), {{f + ".weight", &w.final_ln_w}, {f + ".bias", &w.final_ln_b},
                           {h + ".weight", &w.lm_head_w}, {h + ".bias", &w.lm_head_b}});
    return out;
}

size_t Model::weight_bytes() const {
    size_t total = 0;
    for (const auto& [name, t] : tensors()) total += t->nbytes();
    return total;
}

}  // namespace phidesk
