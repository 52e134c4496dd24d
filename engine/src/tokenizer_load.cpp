// Reading tokenizer files: Hugging Face tokenizer.json, or the vocab.json + merges.txt
// (+ added_tokens.json, special_tokens_map.json) set. Both give the same tables.
#include <fstream>
#include <set>
#include <sstream>

#include "json_file.h"
#include "phidesk/error.h"
#include "phidesk/tokenizer.h"
#include "tokenizer_data.h"

namespace phidesk {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void read_vocab(const json& v, const std::string& source, TokenizerSpec& spec) {
    if (!v.is_object() || v.empty()) throw Error(source + ": vocabulary must be a non-empty object");
    for (const auto& [token, id] : v.items()) {
        if (!id.is_number_integer()) throw Error(source + ": id of '" + token + "' is not an integer");
        spec.vocab.emplace_back(token, id.get<int32_t>());
    }
}

std::pair<std::string, std::string> split_merge(const std::string& line, const std::string& where) {
    const size_t sp = line.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size() || line.find(' ', sp + 1) != std::string::npos)
        throw Error(where + ": merge '" + line + "' is not two tokens separated by one space");
    return {line.substr(0, sp), line.substr(sp + 1)};
}

TokenizerSpec spec_from_json(const json& j, const std::string& source) {
    TokenizerSpec spec;
    try {
        const json& model = j.at("model");
        if (model.value("type", "BPE") != "BPE") throw Error(source + ": model type must be BPE");
        const json& pre = j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json();
        if (!pre.is_object() || pre.value("type", "") != "ByteLevel")
            throw Error(source + ": only byte-level BPE (pre_tokenizer ByteLevel) is supported");
        read_vocab(model.at("vocab"), source, spec);
        const json& merges = model.at("merges");
        if (!merges.is_array()) throw Error(source + ": merges must be an array");
        for (const json& m : merges) {
            if (m.is_string())
                spec.merges.push_back(split_merge(m.get<std::string>(), source));
            else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
                spec.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
            else
                throw Error(source + ": merge " + m.dump() + " is malformed");
        }
        if (j.contains("added_tokens")) {
            for (const json& a : j.at("added_tokens"))
                spec.added.push_back({a.at("content").get<std::string>(), a.at("id").get<int32_t>(), a.value("special", false)});
        }
    } catch (const json::exception& e) {
        throw Error(source + ": malformed tokenizer.json (" + e.what() + ")");
    }
    return spec;
}

TokenizerSpec spec_from_files(const fs::path& dir) {
    TokenizerSpec spec;
    const fs::path vocab = dir / "vocab.json", merges = dir / "merges.txt";
    read_vocab(read_json_file(vocab, "vocabulary"), vocab.string(), spec);
    std::ifstream in(merges, std::ios::binary);
    if (!in) throw Error(merges.string() + ": cannot open");
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || (n == 1 && line.rfind("#version", 0) == 0)) continue;
        spec.merges.push_back(split_merge(line, merges.string() + ":" + std::to_string(n)));
    }
    std::set<std::string> specials;
    if (fs::exists(dir / "special_tokens_map.json")) {
        const json map = read_json_file(dir / "special_tokens_map.json", "special tokens");
        for (const auto& [key, v] : map.items()) {
            if (v.is_string()) specials.insert(v.get<std::string>());
            else if (v.is_object() && v.contains("content")) specials.insert(v["content"].get<std::string>());
        }
    }
    if (fs::exists(dir / "added_tokens.json")) {
        const fs::path added = dir / "added_tokens.json";
        const json a = read_json_file(added, "added tokens");
        if (!a.is_object()) throw Error(added.string() + ": must be an object of token: id");
        for (const auto& [content, id] : a.items()) {
            if (!id.is_number_integer()) throw Error(added.string() + ": id of '" + content + "' is not an integer");
            spec.added.push_back({content, id.get<int32_t>(), specials.count(content) > 0});
        }
    }
    return spec;
}

}  // namespace

Tokenizer Tokenizer::from_json_text(std::string_view text, const std::string& source) {
    Tokenizer t;
    t.d_ = build_tokenizer(spec_from_json(parse_json_text(text, source), source), source);
    return t;
}

Tokenizer Tokenizer::load(const fs::path& path) {
    Tokenizer t;
    if (fs::is_regular_file(path)) {
        t.d_ = build_tokenizer(spec_from_json(read_json_file(path, "tokenizer"), path.string()), path.string());
    } else if (fs::exists(path / "tokenizer.json")) {
        return load(path / "tokenizer.json");
    } else if (fs::exists(path / "vocab.json") && fs::exists(path / "merges.txt")) {
        t.d_ = build_tokenizer(spec_from_files(path), path.string());
    } else {
        throw Error(path.string() + ": no tokenizer.json, and no vocab.json + merges.txt");
    }
    return t;
}

}  // namespace phidesk
