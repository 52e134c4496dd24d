// Reading tokenizer files: Hugging Face tokenizer.json, or the vocab.json + merges.txt
// (+ added_tokens.json, special_tokens_map.json) set. Both give the same tables.
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "json_file.h"
#include "phidesk/error.h"
#include "phidesk/tokenizer.h"
#include "phz_reader.h"
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

// The vocab.json + merges.txt set, given as file name -> content.
TokenizerSpec spec_from_files(const std::map<std::string, std::string>& files, const std::string& source) {
    TokenizerSpec spec;
    auto file = [&](const char* name) -> const std::string* {
        auto it = files.find(name);
        return it == files.end() ? nullptr : &it->second;
    };
    const std::string vocab = source + "/vocab.json", merges = source + "/merges.txt";
    read_vocab(parse_json_text(*file("vocab.json"), vocab), vocab, spec);
    std::istringstream in(*file("merges.txt"));
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || (n == 1 && line.rfind("#version", 0) == 0)) continue;
        spec.merges.push_back(split_merge(line, merges + ":" + std::to_string(n)));
    }
    std::set<std::string> specials;
    if (const std::string* text = file("special_tokens_map.json")) {
        const json map = parse_json_text(*text, source + "/special_tokens_map.json");
        for (const auto& [key, v] : map.items()) {
            if (v.is_string()) specials.insert(v.get<std::string>());
            else if (v.is_object() && v.contains("content")) specials.insert(v["content"].get<std::string>());
        }
    }
    if (const std::string* text = file("added_tokens.json")) {
        const std::string where = source + "/added_tokens.json";
        const json a = parse_json_text(*text, where);
        if (!a.is_object()) throw Error(where + ": must be an object of token: id");
        for (const auto& [content, id] : a.items()) {
            if (!id.is_number_integer()) throw Error(where + ": id of '" + content + "' is not an integer");
            spec.added.push_back({content, id.get<int32_t>(), specials.count(content) > 0});
        }
    }
    return spec;
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw Error(p.string() + ": cannot open");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

Tokenizer Tokenizer::from_json_text(std::string_view text, const std::string& source) {
    Tokenizer t;
    t.d_ = build_tokenizer(spec_from_json(parse_json_text(text, source), source), source);
    return t;
}

Tokenizer Tokenizer::from_files(const std::map<std::string, std::string>& files, const std::string& source) {
    if (auto it = files.find("tokenizer.json"); it != files.end())
        return from_json_text(it->second, source + "/tokenizer.json");
    if (!files.count("vocab.json") || !files.count("merges.txt"))
        throw Error(source + ": no tokenizer.json, and no vocab.json + merges.txt");
    Tokenizer t;
    t.d_ = build_tokenizer(spec_from_files(files, source), source);
    return t;
}

Tokenizer Tokenizer::load(const fs::path& path) {
    if (is_phz_file(path)) {
        const PhzHeader h = read_phz_header(path);
        const json& tok = h.json.contains("tokenizer") ? h.json["tokenizer"] : json();
        if (!tok.is_object() || !tok.contains("files")) throw Error(path.string() + ": this model file holds no tokenizer");
        return from_files(tok["files"].get<std::map<std::string, std::string>>(), path.string());
    }
    if (fs::is_regular_file(path)) return from_json_text(read_text(path), path.string());
    return from_files(read_tokenizer_files(path), path.string());
}

std::map<std::string, std::string> read_tokenizer_files(const fs::path& dir) {
    std::map<std::string, std::string> files;
    for (const char* name : kTokenizerFiles)
        if (fs::exists(dir / name)) files[name] = read_text(dir / name);
    return files;
}

}  // namespace phidesk
