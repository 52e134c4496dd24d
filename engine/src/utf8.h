#pragma once
#include <string>
#include <string_view>

namespace phidesk {

// Appends `bytes` to `out` as valid UTF-8, each maximal invalid subpart replaced by U+FFFD
// (the WHATWG / Unicode rule that Python, Rust and browsers share). When `final` is false, an
// incomplete but so far valid sequence at the end is left unconsumed. Returns bytes consumed.
size_t append_utf8_lossy(std::string_view bytes, bool final, std::string& out);

std::string utf8_lossy(std::string_view bytes);
bool is_valid_utf8(std::string_view bytes);

}  // namespace phidesk
