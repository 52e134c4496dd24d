#pragma once
#include <string_view>
#include <vector>

namespace phidesk {

// GPT-2's pre-tokenization regex, matched with PCRE2 in UTF + UCP mode (Unicode letter and
// number classes from PCRE2's maintained tables; JIT-compiled where available).
class Pretokenizer {
public:
    Pretokenizer();
    ~Pretokenizer();
    Pretokenizer(const Pretokenizer&) = delete;
    Pretokenizer& operator=(const Pretokenizer&) = delete;

    // Calls fn(piece) for each consecutive piece of valid UTF-8 `text`.
    template <class Fn>
    void split(std::string_view text, Fn&& fn) const {
        split_impl(text, [](void* ctx, std::string_view piece) { (*static_cast<Fn*>(ctx))(piece); }, &fn);
    }

private:
    void split_impl(std::string_view text, void (*cb)(void*, std::string_view), void* ctx) const;
    void* code_ = nullptr;   // pcre2_code_8
};

}  // namespace phidesk
