#include "phidesk/generator.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "phidesk/error.h"

namespace phidesk {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Holds back text that may be the start of a stop string; finds stop strings that span tokens.
class StopMatcher {
public:
    explicit StopMatcher(const std::vector<std::string>& stops) : stops_(stops) {
        for (const std::string& s : stops_)
            if (s.empty()) throw Error("stop strings must not be empty");
    }
    // Adds decoded text; returns what may be shown now. Sets `stopped` when a stop string appeared.
    std::string feed(const std::string& text, bool& stopped) {
        pending_ += text;
        size_t cut = std::string::npos;
        for (const std::string& s : stops_) cut = std::min(cut, pending_.find(s));
        if (cut != std::string::npos) {
            stopped = true;
            std::string out = pending_.substr(0, cut);
            pending_.clear();
            return out;
        }
        const size_t hold = longest_stop_prefix_suffix();
        std::string out = pending_.substr(0, pending_.size() - hold);
        pending_.erase(0, pending_.size() - hold);
        return out;
    }
    std::string flush() { return std::exchange(pending_, {}); }

private:
    // Length of the longest suffix of pending_ that is a proper prefix of a stop string.
    size_t longest_stop_prefix_suffix() const {
        size_t best = 0;
        for (const std::string& s : stops_)
            for (size_t n = std::min(s.size() - 1, pending_.size()); n > best; --n)
                if (pending_.compare(pending_.size() - n, n, s, 0, n) == 0) {
                    best = n;
                    break;
                }
        return best;
    }
    const std::vector<std::string>& stops_;
    std::string pending_;
};

}  // namespace

const char* stop_reason_name(StopReason r) {
    switch (r) {
    case StopReason::Eos: return "eos";
    case StopReason::StopString: return "stop_string";
    case StopReason::MaxTokens: return "max_tokens";
    case StopReason::ContextFull: return "context_full";
    case StopReason::Cancelled: return "cancelled";
    }
    return "?";
}

double GenerationResult::decode_tokens_per_second() const {
    return decode_seconds > 0 ? double(ids.size()) / decode_seconds : 0.0;
}

Generator::Generator(std::shared_ptr<Backend> backend, Tokenizer tokenizer)
    : backend_(std::move(backend)), tok_(std::move(tokenizer)) {}

// A prompt runs in pieces of this many tokens with a Stop checked between them, so that Stop
// during a long document (a minute or more on a CPU) is answered within one piece (about 4 s
// for phi-2 on two cores); 128 is also the CPU backend's batch, so the pieces cost it nothing.
constexpr size_t kPromptPiece = 128;

// Evaluates only the part of `prompt` that the cache does not already hold.
std::optional<int32_t> Generator::prefill(std::span<const int32_t> prompt, Sampler& sampler, GenerationResult& r,
                                          const std::atomic<bool>* cancel) {
    const int ctx = backend_->context_length();
    if (prompt.empty()) throw Error("empty prompt");
    if (int(prompt.size()) >= ctx)
        throw ContextFullError("the prompt is " + std::to_string(prompt.size()) + " tokens; the context holds " +
                               std::to_string(ctx) + " (with room for at least one new token)");
    size_t common = 0;
    const size_t held = std::min<size_t>(cached_.size(), size_t(backend_->cached_tokens()));
    while (common < held && common < prompt.size() && cached_[common] == prompt[common]) ++common;
    common = std::min(common, prompt.size() - 1);   // at least one token must run to get logits
    backend_->truncate(int(common));
    cached_.assign(prompt.begin(), prompt.begin() + std::ptrdiff_t(common));
    const auto t0 = Clock::now();
    auto keep_what_the_backend_holds = [&] {   // a prefix of the prompt (pieces may have run)
        const size_t kept = std::min<size_t>(prompt.size(), size_t(backend_->cached_tokens()));
        cached_.assign(prompt.begin(), prompt.begin() + std::ptrdiff_t(kept));
    };
    std::optional<int32_t> id;
    try {
        std::span<const int32_t> rest = prompt.subspan(common);
        for (; !(cancel && cancel->load()); rest = rest.subspan(kPromptPiece)) {
            if (rest.size() <= kPromptPiece) {
                id = backend_->eval_and_pick(rest, sampler, prompt);
                break;
            }
            backend_->eval(rest.first(kPromptPiece), LogitsFor::Last, piece_logits_);
        }
    } catch (...) {
        keep_what_the_backend_holds();
        throw;
    }
    keep_what_the_backend_holds();
    r.prompt_tokens = int(prompt.size());
    r.reused_tokens = int(common);
    r.prefill_seconds = since(t0);
    return id;
}

int32_t Generator::step(int32_t id, Sampler& sampler) {
    cached_.push_back(id);
    try {
        return backend_->eval_and_pick(std::span<const int32_t>(&cached_.back(), 1), sampler, cached_);
    } catch (...) {
        cached_.resize(size_t(backend_->cached_tokens()));
        throw;
    }
}

GenerationResult Generator::generate(std::span<const int32_t> prompt, const GenerateOptions& o,
                                     const std::function<void(const TokenEvent&)>& on_token,
                                     const std::atomic<bool>* cancel) {
    GenerationResult r;
    Sampler sampler(o.sampling);
    StopMatcher stops(o.stop_strings);
    StreamDecoder decoder(tok_);
    const std::optional<int32_t> first = prefill(prompt, sampler, r, cancel);
    if (!first) {
        r.stop = StopReason::Cancelled;
        return r;
    }
    int32_t id = *first;
    const auto t0 = Clock::now();
    auto emit = [&](int32_t id, const std::string& text) {
        r.text += text;
        if (on_token) on_token({id, text, int(r.ids.size()), since(t0)});
    };
    for (;;) {
        if (cancel && cancel->load()) { r.stop = StopReason::Cancelled; break; }
        if (int(r.ids.size()) >= o.max_new_tokens) { r.stop = StopReason::MaxTokens; break; }
        if (o.stop_at_eos && id == tok_.eos_id()) { r.stop = StopReason::Eos; break; }
        r.ids.push_back(id);
        bool stopped = false;
        const std::string shown = stops.feed(decoder.push(id), stopped);
        emit(id, shown);
        if (stopped) { r.stop = StopReason::StopString; break; }
        if (backend_->cached_tokens() >= backend_->context_length()) { r.stop = StopReason::ContextFull; break; }
        id = step(id, sampler);
    }
    if (r.stop != StopReason::StopString) {
        bool stopped = false;
        const std::string tail = stops.feed(decoder.finish(), stopped) + (stopped ? "" : stops.flush());
        if (!tail.empty()) emit(-1, tail);
    }
    r.decode_seconds = since(t0);
    return r;
}

}  // namespace phidesk
