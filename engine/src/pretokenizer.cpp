#include "pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <memory>
#include <string>

#include "phidesk/error.h"

namespace phidesk {

static constexpr char kGpt2Pattern[] =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

Pretokenizer::Pretokenizer() {
    int err = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kGpt2Pattern), PCRE2_ZERO_TERMINATED,
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &err, &offset, nullptr);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        throw Error(std::string("pre-tokenizer pattern: ") + reinterpret_cast<const char*>(msg));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);   // optional: falls back to the interpreter
    code_ = code;
}

Pretokenizer::~Pretokenizer() {
    pcre2_code_free(static_cast<pcre2_code*>(code_));
}

void Pretokenizer::split_impl(std::string_view text, void (*cb)(void*, std::string_view), void* ctx) const {
    auto* code = static_cast<pcre2_code*>(code_);
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
        pcre2_match_data_create_from_pattern(code, nullptr), &pcre2_match_data_free);
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    size_t pos = 0;
    while (pos < text.size()) {
        // The input was validated (or repaired) as UTF-8 by the caller.
        const int rc = pcre2_match(code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, md.get(), nullptr);
        if (rc < 0) throw Error("pre-tokenizer: no match at byte " + std::to_string(pos));
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
        if (ov[0] != pos || ov[1] <= ov[0])   // the pattern's alternatives cover every character
            throw Error("pre-tokenizer: unexpected gap at byte " + std::to_string(pos));
        cb(ctx, text.substr(ov[0], ov[1] - ov[0]));
        pos = ov[1];
    }
}

}  // namespace phidesk
