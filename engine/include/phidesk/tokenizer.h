// The phi (CodeGen / GPT-2) byte-level BPE tokenizer, exact to Hugging Face's `tokenizers`,
// with a streaming decoder that only ever emits whole UTF-8 characters.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace phidesk {

struct TokenizerData;

// The file names a tokenizer may come from, in a folder or inside a .phz.
inline constexpr const char* kTokenizerFiles[] = {"tokenizer.json", "vocab.json", "merges.txt", "added_tokens.json",
                                                  "special_tokens_map.json"};

// How text that spells a special token (e.g. "<|endoftext|>") is encoded.
enum class SpecialText {
    Parse,    // becomes the special token's id, as Hugging Face does by default (prompt templates)
    AsText,   // encoded as ordinary characters (the app's mode for anything the user typed or pasted)
};

// The tokenizer files present in a folder (names from kTokenizerFiles), by name, with their text.
std::map<std::string, std::string> read_tokenizer_files(const std::filesystem::path& dir);

class Tokenizer {
public:
    // `path`: a tokenizer.json file, a .phz model, or a folder with tokenizer.json, or with
    // vocab.json + merges.txt (+ added_tokens.json, special_tokens_map.json).
    static Tokenizer load(const std::filesystem::path& path);
    // tokenizer.json's text; `source` names it in errors.
    static Tokenizer from_json_text(std::string_view text, const std::string& source);
    // Tokenizer files by name (tokenizer.json, or vocab.json + merges.txt + ...) and content.
    static Tokenizer from_files(const std::map<std::string, std::string>& files, const std::string& source);

    // Invalid UTF-8 is first replaced by U+FFFD (maximal-subpart rule), as the reference does.
    std::vector<int32_t> encode(std::string_view utf8, SpecialText special = SpecialText::Parse) const;
    // Bytes of all tokens joined, invalid UTF-8 replaced by U+FFFD. Ids without a token
    // (the model's padding rows) decode to nothing and are counted in `unknown`.
    std::string decode(std::span<const int32_t> ids, bool skip_special = false, int* unknown = nullptr) const;

    // The raw bytes of one token ("" for an id without one).
    const std::string& token_bytes(int32_t id) const;
    bool has_token(int32_t id) const;
    bool is_special(int32_t id) const;
    int size() const;         // one past the highest id that has a token (50295 for phi)
    int eos_id() const;       // <|endoftext|>, or -1

private:
    Tokenizer() = default;
    std::shared_ptr<const TokenizerData> d_;
};

// Feeds ids one at a time; returns only text made of complete UTF-8 characters, holding back
// a character whose bytes are split across tokens. Concatenating every push() and the final
// finish() equals Tokenizer::decode of the same ids.
class StreamDecoder {
public:
    explicit StreamDecoder(const Tokenizer& tok, bool skip_special = false);
    std::string push(int32_t id);
    std::string finish();             // flushes held bytes (an incomplete character -> U+FFFD)
    int unknown_ids() const { return unknown_; }

private:
    const Tokenizer& tok_;
    bool skip_special_;
    std::string pending_;
    int unknown_ = 0;
};

}  // namespace phidesk
