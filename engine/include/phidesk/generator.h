// Generation: prompt ids in, streamed text out, with stop conditions, cancellation and reuse of
// the KV cache for the prefix a new prompt shares with what the backend already holds.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "phidesk/backend.h"
#include "phidesk/sampler.h"
#include "phidesk/tokenizer.h"

namespace phidesk {

struct GenerateOptions {
    SamplerParams sampling;
    int max_new_tokens = 512;
    std::vector<std::string> stop_strings;   // matched across token boundaries, never emitted
    bool stop_at_eos = true;
};

enum class StopReason { Eos, StopString, MaxTokens, ContextFull, Cancelled };
const char* stop_reason_name(StopReason r);

struct TokenEvent {
    int32_t id;             // -1 for the final event that flushes held-back text
    std::string delta;      // text now safe to show (whole characters, no part of a stop string)
    int generated;          // tokens generated so far
    double seconds;         // since generation started
};

struct GenerationResult {
    std::vector<int32_t> ids;    // generated ids (the EOS that ended it is not included)
    std::string text;            // everything emitted, without the stop string
    StopReason stop = StopReason::MaxTokens;
    int prompt_tokens = 0;
    int reused_tokens = 0;       // prompt tokens whose KV cache entries were reused
    double prefill_seconds = 0, decode_seconds = 0;
    double decode_tokens_per_second() const;
};

class Generator {
public:
    Generator(std::shared_ptr<Backend> backend, Tokenizer tokenizer);

    // Throws ContextFullError when the prompt alone does not fit the context.
    GenerationResult generate(std::span<const int32_t> prompt, const GenerateOptions& o,
                              const std::function<void(const TokenEvent&)>& on_token = {},
                              const std::atomic<bool>* cancel = nullptr);

    const Tokenizer& tokenizer() const { return tok_; }
    Backend& backend() { return *backend_; }
    int context_length() const { return backend_->context_length(); }
    // Prompt text -> ids the way the app does it: special-token text stays text.
    std::vector<int32_t> encode(const std::string& text) const { return tok_.encode(text, SpecialText::AsText); }

private:
    // Both return the id the sampler picks after the tokens they run; prefill returns nothing
    // when `cancel` was set before the whole prompt ran.
    std::optional<int32_t> prefill(std::span<const int32_t> prompt, Sampler& sampler, GenerationResult& r,
                                   const std::atomic<bool>* cancel);
    int32_t step(int32_t id, Sampler& sampler);

    std::shared_ptr<Backend> backend_;
    Tokenizer tok_;
    std::vector<int32_t> cached_;   // the ids whose keys/values the backend's cache holds
    std::vector<float> piece_logits_;   // the unused logits of a prompt's earlier pieces
};

}  // namespace phidesk
