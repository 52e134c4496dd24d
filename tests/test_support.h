// Helpers shared by the engine test suites: where the reference data is, and a writer for
// small safetensors files (valid ones, and deliberately broken ones).
#pragma once
#include <QString>
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace test {

inline std::filesystem::path reference_dir() {
    const QByteArray env = qgetenv("PHIDESK_REFERENCE_DIR");
    return env.isEmpty() ? std::filesystem::path(PHIDESK_REFERENCE_DIR) : std::filesystem::path(env.toStdString());
}

inline std::filesystem::path model_dir(const std::string& name) {
    return reference_dir() / "models" / name;
}

struct RawTensor {
    std::string name;
    std::string dtype;              // "F32", "F16", "BF16", or anything for broken files
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
};

// Writes a standard safetensors file: 8-byte length, JSON header padded to 8, data.
inline void write_safetensors(const std::filesystem::path& path, const std::vector<RawTensor>& tensors) {
    nlohmann::json h = {{"__metadata__", {{"format", "pt"}}}};
    size_t offset = 0;
    for (const RawTensor& t : tensors) {
        h[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
        offset += t.bytes.size();
    }
    std::string header = h.dump();
    while ((8 + header.size()) % 8) header += ' ';
    std::ofstream out(path, std::ios::binary);
    const uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out.put(char((n >> (8 * i)) & 0xff));
    out << header;
    for (const RawTensor& t : tensors) out.write(reinterpret_cast<const char*>(t.bytes.data()), std::streamsize(t.bytes.size()));
}

// Writes a file whose header is exactly `header` (no checks), followed by `data_bytes` zero bytes.
inline void write_raw_safetensors(const std::filesystem::path& path, const std::string& header, size_t data_bytes,
                                  uint64_t declared_len = UINT64_MAX) {
    std::ofstream out(path, std::ios::binary);
    const uint64_t n = declared_len == UINT64_MAX ? header.size() : declared_len;
    for (int i = 0; i < 8; ++i) out.put(char((n >> (8 * i)) & 0xff));
    out << header << std::string(data_bytes, '\0');
}

template <class T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
    std::vector<uint8_t> b(v.size() * sizeof(T));
    std::memcpy(b.data(), v.data(), b.size());
    return b;
}

inline void copy_file(const std::filesystem::path& from, const std::filesystem::path& to) {
    std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

}  // namespace test
