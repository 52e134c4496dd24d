// Encoding and decoding with the tables of tokenizer_data.h.
#include <algorithm>
#include <array>
#include <climits>
#include <cstring>

#include "phidesk/error.h"
#include "phidesk/tokenizer.h"
#include "pretokenizer.h"
#include "tokenizer_data.h"
#include "utf8.h"

namespace phidesk {
namespace {

// GPT-2's byte-to-unicode alphabet: printable Latin-1 bytes stand for themselves, the other
// 68 bytes for U+0100 onwards. Returns the code point of `byte`.
uint32_t byte_to_codepoint(uint8_t b) {
    static const auto table = [] {
        std::array<uint32_t, 256> t{};
        uint32_t next = 256;
        for (int i = 0; i < 256; ++i) {
            const bool printable = (i >= '!' && i <= '~') || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE && i <= 0xFF);
            t[size_t(i)] = printable ? uint32_t(i) : next++;
        }
        return t;
    }();
    return table[b];
}

// Raw bytes of a byte-level token string (UTF-8 of the alphabet above); false if it holds
// a character outside the alphabet.
bool byte_level_to_bytes(const std::string& s, std::string& out) {
    static const auto inverse = [] {
        std::array<int16_t, 324> t;
        t.fill(-1);
        for (int b = 0; b < 256; ++b) t[byte_to_codepoint(uint8_t(b))] = int16_t(b);
        return t;
    }();
    out.clear();
    for (size_t i = 0; i < s.size();) {
        const uint8_t c = uint8_t(s[i]);
        uint32_t cp;
        if (c < 0x80) {
            cp = c, i += 1;
        } else if ((c & 0xE0) == 0xC0 && i + 1 < s.size()) {
            cp = (uint32_t(c & 0x1F) << 6) | (uint8_t(s[i + 1]) & 0x3F), i += 2;
        } else {
            return false;   // all 256 alphabet characters are below U+0800
        }
        if (cp >= inverse.size() || inverse[cp] < 0) return false;
        out += char(inverse[cp]);
    }
    return !out.empty();
}

// Byte-pair merges by rank on one pre-tokenized piece.
void bpe_merge(const TokenizerData& d, std::string_view piece, std::vector<int32_t>& out) {
    std::vector<int32_t> sym;
    sym.reserve(piece.size());
    for (char c : piece) sym.push_back(d.byte_id[uint8_t(c)]);
    while (sym.size() > 1) {
        int32_t best_rank = INT32_MAX, best_id = -1;
        size_t best = 0;
        for (size_t i = 0; i + 1 < sym.size(); ++i) {
            auto it = d.merges.find((uint64_t(uint32_t(sym[i])) << 32) | uint32_t(sym[i + 1]));
            if (it != d.merges.end() && it->second.first < best_rank)
                best_rank = it->second.first, best_id = it->second.second, best = i;
        }
        if (best_id < 0) break;
        sym[best] = best_id;
        sym.erase(sym.begin() + std::ptrdiff_t(best) + 1);
    }
    out.insert(out.end(), sym.begin(), sym.end());
}

// bpe_merge through the piece cache (bounded: cleared when full; long pieces are not kept).
void bpe(const TokenizerData& d, std::string_view piece, std::vector<int32_t>& out) {
    constexpr size_t kMaxCachedPiece = 64, kMaxCacheEntries = 1 << 16;
    if (piece.size() == 1) {
        out.push_back(d.byte_id[uint8_t(piece[0])]);
        return;
    }
    if (piece.size() > kMaxCachedPiece) return bpe_merge(d, piece, out);
    {
        std::lock_guard<std::mutex> lock(d.cache_mutex);
        if (auto it = d.cache.find(piece); it != d.cache.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    const size_t first = out.size();
    bpe_merge(d, piece, out);
    std::lock_guard<std::mutex> lock(d.cache_mutex);
    if (d.cache.size() >= kMaxCacheEntries) d.cache.clear();
    d.cache.emplace(std::string(piece), std::vector<int32_t>(out.begin() + std::ptrdiff_t(first), out.end()));
}

// The longest added token starting at `pos` (specials only when `parse_special`), or nullptr.
const AddedToken* added_at(const TokenizerData& d, std::string_view text, size_t pos, bool parse_special) {
    if (!d.added_first_byte[uint8_t(text[pos])]) return nullptr;
    const size_t left = text.size() - pos;
    for (const AddedToken& a : d.added) {   // longest first
        const std::string& c = a.content;
        if (c.size() > left || (c.size() > 1 && c[1] != text[pos + 1]) || (a.special && !parse_special)) continue;
        if (std::memcmp(c.data(), text.data() + pos, c.size()) == 0) return &a;
    }
    return nullptr;
}

}  // namespace

std::shared_ptr<const TokenizerData> build_tokenizer(const TokenizerSpec& spec, const std::string& source) {
    constexpr int32_t kMaxId = 1 << 22;
    auto d = std::make_shared<TokenizerData>();
    auto claim = [&](int32_t id, const std::string& bytes, const std::string& what) {
        if (id < 0 || id >= kMaxId) throw Error(source + ": id " + std::to_string(id) + " of " + what + " is out of range");
        if (size_t(id) >= d->bytes.size()) d->bytes.resize(size_t(id) + 1), d->present.resize(size_t(id) + 1);
        if (d->present[size_t(id)] && d->bytes[size_t(id)] != bytes)
            throw Error(source + ": id " + std::to_string(id) + " is used twice (" + what + ")");
        d->bytes[size_t(id)] = bytes;
        d->present[size_t(id)] = 1;
    };
    std::unordered_map<std::string, int32_t> by_string;
    std::string raw;
    for (const auto& [s, id] : spec.vocab) {
        if (!byte_level_to_bytes(s, raw)) throw Error(source + ": vocabulary entry '" + s + "' is not byte-level text");
        claim(id, raw, "vocabulary entry '" + s + "'");
        if (!by_string.emplace(s, id).second) throw Error(source + ": vocabulary entry '" + s + "' appears twice");
    }
    for (int b = 0; b < 256; ++b) {
        std::string key;
        const uint32_t cp = byte_to_codepoint(uint8_t(b));
        if (cp < 0x80) key = char(cp);
        else key = {char(0xC0 | (cp >> 6)), char(0x80 | (cp & 0x3F))};
        auto it = by_string.find(key);
        if (it == by_string.end()) throw Error(source + ": the vocabulary lacks the token of byte " + std::to_string(b));
        d->byte_id[b] = it->second;
    }
    for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
        const auto& [a, b] = spec.merges[rank];
        auto ia = by_string.find(a), ib = by_string.find(b), im = by_string.find(a + b);
        if (ia == by_string.end() || ib == by_string.end() || im == by_string.end())
            throw Error(source + ": merge " + std::to_string(rank + 1) + " ('" + a + " " + b +
                        "') uses a token that is not in the vocabulary");
        d->merges.emplace((uint64_t(uint32_t(ia->second)) << 32) | uint32_t(ib->second),
                          std::make_pair(int32_t(rank), im->second));
    }
    if (spec.merges.empty()) throw Error(source + ": no merges");
    d->special.assign(d->bytes.size(), 0);
    for (const AddedToken& a : spec.added) {
        if (a.content.empty()) throw Error(source + ": added token " + std::to_string(a.id) + " is empty");
        claim(a.id, a.content, "added token '" + a.content + "'");
        d->special.resize(d->bytes.size());
        d->special[size_t(a.id)] = a.special;
        d->added.push_back(a);
        d->added_first_byte[uint8_t(a.content[0])] = true;
        if (a.content == "<|endoftext|>") d->eos = a.id;
    }
    d->special.resize(d->bytes.size());
    std::stable_sort(d->added.begin(), d->added.end(),
                     [](const AddedToken& x, const AddedToken& y) { return x.content.size() > y.content.size(); });
    d->pretokenizer = std::make_shared<Pretokenizer>();
    return d;
}

std::vector<int32_t> Tokenizer::encode(std::string_view input, SpecialText special) const {
    const TokenizerData& d = *d_;
    std::string repaired;
    std::string_view text = input;
    if (!is_valid_utf8(input)) repaired = utf8_lossy(input), text = repaired;

    std::vector<int32_t> ids;
    auto plain = [&](std::string_view s) { d.pretokenizer->split(s, [&](std::string_view p) { bpe(d, p, ids); }); };
    // Added tokens (the special token, whitespace runs) are cut out first, leftmost-longest;
    // the text between them goes through the regex and BPE.
    size_t start = 0;
    for (size_t pos = 0; pos < text.size();) {
        if (const AddedToken* a = added_at(d, text, pos, special == SpecialText::Parse)) {
            plain(text.substr(start, pos - start));
            ids.push_back(a->id);
            pos += a->content.size();
            start = pos;
        } else {
            ++pos;
        }
    }
    plain(text.substr(start));
    return ids;
}

bool Tokenizer::has_token(int32_t id) const {
    return id >= 0 && size_t(id) < d_->present.size() && d_->present[size_t(id)];
}

bool Tokenizer::is_special(int32_t id) const {
    return has_token(id) && d_->special[size_t(id)];
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
    static const std::string none;
    return has_token(id) ? d_->bytes[size_t(id)] : none;
}

int Tokenizer::size() const { return int(d_->bytes.size()); }
int Tokenizer::eos_id() const { return d_->eos; }

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special, int* unknown) const {
    StreamDecoder s(*this, skip_special);
    std::string out;
    for (int32_t id : ids) out += s.push(id);
    out += s.finish();
    if (unknown) *unknown = s.unknown_ids();
    return out;
}

StreamDecoder::StreamDecoder(const Tokenizer& tok, bool skip_special) : tok_(tok), skip_special_(skip_special) {}

std::string StreamDecoder::push(int32_t id) {
    if (!tok_.has_token(id)) {
        ++unknown_;
        return {};
    }
    if (skip_special_ && tok_.is_special(id)) return {};
    pending_ += tok_.token_bytes(id);
    std::string out;
    pending_.erase(0, append_utf8_lossy(pending_, false, out));
    return out;
}

std::string StreamDecoder::finish() {
    std::string out = utf8_lossy(pending_);
    pending_.clear();
    return out;
}

}  // namespace phidesk
