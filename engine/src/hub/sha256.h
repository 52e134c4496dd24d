// SHA-256 (FIPS 180-4), streamed: the digest the Hugging Face hub reports for LFS files.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace phidesk {

class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t size);
    std::string hex_digest();   // finishes the hash; call once

private:
    void block(const uint8_t* p);
    std::array<uint32_t, 8> h_;
    std::array<uint8_t, 64> buf_{};
    size_t buffered_ = 0;
    uint64_t length_ = 0;
};

// Lowercase hex SHA-256 of a file's contents (Error naming the file when it cannot be read).
std::string sha256_file(const std::filesystem::path& path);

}  // namespace phidesk
