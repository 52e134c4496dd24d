#include "safetensors.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "json_file.h"
#include "phidesk/error.h"

namespace phidesk {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the safetensors format's own limit

DType parse_dtype(const std::string& s, const std::string& where) {
    if (s == "F32") return DType::F32;
    if (s == "F16") return DType::F16;
    if (s == "BF16") return DType::BF16;
    static const std::set<std::string> known = {"F64", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8",
                                                "BOOL", "F8_E4M3", "F8_E5M2", "C64"};
    if (known.count(s)) throw Error(where + ": dtype " + s + " is not supported (F32, F16 or BF16)");
    throw Error(where + ": unknown dtype '" + s + "'");
}

uint64_t as_u64(const json& v, const std::string& where, const char* what) {
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
        throw Error(where + ": " + what + " must be a non-negative integer, not " + v.dump());
    return v.get<uint64_t>();
}

struct Span {
    uint64_t begin, end;
    std::string name;
};

TensorView parse_entry(const std::string& name, const json& e, const std::string& where, const uint8_t* data,
                       uint64_t data_size, size_t data_start, std::vector<Span>& spans) {
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
        throw Error(where + ": entry needs dtype, shape and data_offsets");
    if (!e["dtype"].is_string()) throw Error(where + ": dtype must be a string");
    TensorView t;
    t.name = name;
    t.dtype = parse_dtype(e["dtype"].get<std::string>(), where);
    const json& shape = e["shape"];
    if (!shape.is_array() || shape.size() > 8) throw Error(where + ": shape must be an array of at most 8 sizes");
    uint64_t numel = 1;
    for (const json& d : shape) {
        const uint64_t n = as_u64(d, where, "shape entry");
        if (n > (uint64_t(1) << 40) || (n && numel > (uint64_t(1) << 40) / n))
            throw Error(where + ": shape " + shape.dump() + " is too large");
        numel *= n;
        t.shape.push_back(int64_t(n));
    }
    const json& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2) throw Error(where + ": data_offsets must be [begin, end]");
    const uint64_t begin = as_u64(off[0], where, "data_offsets[0]");
    const uint64_t end = as_u64(off[1], where, "data_offsets[1]");
    if (begin > end || end > data_size)
        throw Error(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                    ") lie outside the " + std::to_string(data_size) + " data bytes of the file (truncated?)");
    if (end - begin != numel * dtype_size(t.dtype))
        throw Error(where + ": " + std::to_string(end - begin) + " bytes of data do not hold shape " +
                    shape_string(t.shape) + " of " + dtype_name(t.dtype));
    if ((data_start + begin) % dtype_size(t.dtype) != 0)
        throw Error(where + ": data is not aligned to its " + std::to_string(dtype_size(t.dtype)) + "-byte elements");
    t.data = data + data_start + begin;
    if (end > begin) spans.push_back({begin, end, name});
    return t;
}

void check_no_overlap(std::vector<Span>& spans, const std::string& file) {
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
    for (size_t i = 1; i < spans.size(); ++i)
        if (spans[i].begin < spans[i - 1].end)
            throw Error(file + ": tensors " + spans[i - 1].name + " and " + spans[i].name + " overlap");
}

}  // namespace

std::map<std::string, TensorView> read_safetensors_header(const MappedFile& file) {
    const std::string fname = file.path().string();
    if (file.size() < 8) throw Error(fname + ": too short for a safetensors file (" + std::to_string(file.size()) + " bytes)");
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | file.data()[i];  // little-endian
    if (header_len > kMaxHeaderBytes)
        throw Error(fname + ": header length " + std::to_string(header_len) + " exceeds the 100 MiB limit");
    if (header_len > file.size() - 8)
        throw Error(fname + ": header length " + std::to_string(header_len) + " runs past the end of the file (" +
                    std::to_string(file.size()) + " bytes; truncated?)");
    const std::string_view text(reinterpret_cast<const char*>(file.data()) + 8, header_len);
    const json header = parse_json_text(text, fname + " (safetensors header)");
    if (!header.is_object()) throw Error(fname + ": safetensors header is not a JSON object");

    const size_t data_start = 8 + header_len;
    const uint64_t data_size = file.size() - data_start;
    std::map<std::string, TensorView> tensors;
    std::vector<Span> spans;
    for (const auto& [name, entry] : header.items()) {
        if (name == "__metadata__") continue;
        const std::string where = fname + ": tensor " + name;
        tensors.emplace(name, parse_entry(name, entry, where, file.data(), data_size, data_start, spans));
    }
    check_no_overlap(spans, fname);
    return tensors;
}

Checkpoint Checkpoint::open(const fs::path& path) {
    Checkpoint c;
    c.files_ = std::make_shared<std::vector<std::unique_ptr<MappedFile>>>();
    auto add_file = [&](const fs::path& p) -> const std::map<std::string, TensorView> {
        c.files_->push_back(std::make_unique<MappedFile>(p));
        return read_safetensors_header(*c.files_->back());
    };

    const fs::path index = path / "model.safetensors.index.json";
    if (fs::is_directory(path) && fs::exists(index)) {
        const json j = read_json_file(index, "safetensors index");
        if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
            throw Error(index.string() + ": no \"weight_map\" object");
        std::map<std::string, std::map<std::string, TensorView>> shards;
        for (const auto& [name, file] : j["weight_map"].items()) {
            if (!file.is_string()) throw Error(index.string() + ": weight_map[" + name + "] is not a file name");
            const std::string shard = file.get<std::string>();
            if (shard.empty() || shard.find('/') != std::string::npos || shard == "..")
                throw Error(index.string() + ": shard name '" + shard + "' must be a plain file name");
            if (!shards.count(shard)) {
                if (!fs::exists(path / shard))
                    throw Error(index.string() + ": shard " + shard + " (holding " + name + ") is missing");
                shards[shard] = add_file(path / shard);
            }
            auto it = shards[shard].find(name);
            if (it == shards[shard].end())
                throw Error((path / shard).string() + ": tensor " + name + " listed in the index is not in this shard");
            c.tensors_.emplace(name, it->second);
        }
        return c;
    }
    fs::path file = path;
    if (fs::is_directory(path)) {
        file = path / "model.safetensors";
        if (!fs::exists(file)) throw Error(path.string() + ": no model.safetensors or model.safetensors.index.json");
    }
    c.tensors_ = add_file(file);
    return c;
}

const TensorView* Checkpoint::find(const std::string& name) const {
    auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : &it->second;
}

const TensorView& Checkpoint::get(const std::string& name) const {
    if (const TensorView* t = find(name)) return *t;
    throw Error(describe() + ": missing tensor " + name);
}

std::vector<std::string> Checkpoint::names() const {
    std::vector<std::string> out;
    for (const auto& [name, t] : tensors_) out.push_back(name);
    return out;
}

std::string Checkpoint::describe() const {
    if (files_->size() == 1) return files_->front()->path().string();
    return files_->front()->path().parent_path().string() + " (" + std::to_string(files_->size()) + " shards)";
}

}  // namespace phidesk
