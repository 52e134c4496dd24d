#include "utf8.h"

#include <cstdint>

namespace phidesk {

size_t append_utf8_lossy(std::string_view bytes, bool final, std::string& out) {
    static constexpr char kReplacement[] = "\xEF\xBF\xBD";
    size_t i = 0;
    while (i < bytes.size()) {
        const uint8_t b = uint8_t(bytes[i]);
        int need = 0;
        uint8_t lo = 0x80, hi = 0xBF;   // allowed range of the first continuation byte
        if (b < 0x80) {
            out += char(b);
            ++i;
            continue;
        } else if (b >= 0xC2 && b <= 0xDF) {
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
            out += kReplacement;
            ++i;
            continue;
        }
        size_t j = i + 1;
        int seen = 0;
        while (seen < need && j < bytes.size()) {
            const uint8_t c = uint8_t(bytes[j]);
            if (c < lo || c > hi) break;
            lo = 0x80, hi = 0xBF;
            ++seen, ++j;
        }
        if (seen == need) {
            out.append(bytes.substr(i, j - i));
        } else if (j == bytes.size() && !final) {
            return i;   // incomplete at the end: wait for more bytes
        } else {
            out += kReplacement;   // the maximal subpart [i, j) becomes one U+FFFD
        }
        i = j;
    }
    return i;
}

std::string utf8_lossy(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    append_utf8_lossy(bytes, true, out);
    return out;
}

}  // namespace phidesk
