// The tokenizer's tables, built once by the loader and shared read-only by every encode.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace phidesk {

class Pretokenizer;

struct AddedToken {
    std::string content;   // raw text (not byte-level)
    int32_t id;
    bool special;
};

// Hash that lets the piece cache be searched by string_view without building a string.
struct PieceHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct TokenizerData {
    std::vector<std::string> bytes;   // id -> raw bytes of the token
    std::vector<uint8_t> present;     // id -> 1 when the id has a token
    std::vector<uint8_t> special;     // id -> 1 for special tokens (skipped by skip_special)
    int32_t byte_id[256];             // the token of each single byte
    // (left id << 32 | right id) -> (rank, merged id)
    std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges;
    std::vector<AddedToken> added;    // longest first
    bool added_first_byte[256] = {};  // bytes that can start an added token
    int32_t eos = -1;
    std::shared_ptr<const Pretokenizer> pretokenizer;
    // BPE results of recent pieces: text repeats words, and merging is the costly step.
    mutable std::mutex cache_mutex;
    mutable std::unordered_map<std::string, std::vector<int32_t>, PieceHash, std::equal_to<>> cache;
};

// Builds the tables; `vocab` maps byte-level token strings (GPT-2's byte-to-unicode alphabet)
// to ids, `merges` holds (left, right) pairs in rank order. Throws Error naming `source`.
struct TokenizerSpec {
    std::vector<std::pair<std::string, int32_t>> vocab;
    std::vector<std::pair<std::string, std::string>> merges;
    std::vector<AddedToken> added;
};
std::shared_ptr<const TokenizerData> build_tokenizer(const TokenizerSpec& spec, const std::string& source);

}  // namespace phidesk
