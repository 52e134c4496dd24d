#include "utf8.h"

#include <cstdint>

namespace phidesk {

namespace {

enum class Seq { Valid, Invalid, Incomplete };

// Classifies the sequence starting at bytes[i] and sets `end` past it (for Invalid: past the
// maximal subpart, at least one byte).
Seq sequence_at(std::string_view bytes, size_t i, size_t& end) {
    const uint8_t b = uint8_t(bytes[i]);
    end = i + 1;
    if (b < 0x80) return Seq::Valid;
    int need = 0;
    uint8_t lo = 0x80, hi = 0xBF;   // allowed range of the first continuation byte
    if (b >= 0xC2 && b <= 0xDF) {
        need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2;
        if (b == 0xE0) lo = 0xA0;   // no overlong forms
        if (b == 0xED) hi = 0x9F;   // no surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;   // nothing above U+10FFFF
    } else {
        return Seq::Invalid;
    }
    for (int seen = 0; seen < need; ++seen, ++end) {
        if (end == bytes.size()) return Seq::Incomplete;
        const uint8_t c = uint8_t(bytes[end]);
        if (c < lo || c > hi) return Seq::Invalid;
        lo = 0x80, hi = 0xBF;
    }
    return Seq::Valid;
}

}  // namespace

size_t append_utf8_lossy(std::string_view bytes, bool final, std::string& out) {
    static constexpr char kReplacement[] = "\xEF\xBF\xBD";
    size_t i = 0, end = 0;
    while (i < bytes.size()) {
        switch (sequence_at(bytes, i, end)) {
        case Seq::Valid: out.append(bytes.substr(i, end - i)); break;
        case Seq::Incomplete:
            if (!final) return i;   // wait for the rest of the character
            [[fallthrough]];
        case Seq::Invalid: out += kReplacement; break;   // the maximal subpart becomes one U+FFFD
        }
        i = end;
    }
    return i;
}

bool is_valid_utf8(std::string_view bytes) {
    size_t end = 0;
    for (size_t i = 0; i < bytes.size(); i = end) {
        if (uint8_t(bytes[i]) < 0x80) {
            end = i + 1;
            continue;
        }
        if (sequence_at(bytes, i, end) != Seq::Valid) return false;
    }
    return true;
}

std::string utf8_lossy(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    append_utf8_lossy(bytes, true, out);
    return out;
}

}  // namespace phidesk
