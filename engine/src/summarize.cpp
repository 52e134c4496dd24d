#include "phidesk/summarize.h"

#include <algorithm>

#include "phidesk/error.h"

namespace phidesk {
namespace {

enum Boundary : uint8_t { None = 0, Sentence = 1, Paragraph = 2 };

// kind[t]: what kind of boundary lies just before token t (0 < t < n); char_start[t]: whether
// token t starts a character (so cutting before it splits nothing).
void classify(const std::vector<int32_t>& tokens, const Tokenizer& tok, std::vector<uint8_t>& kind,
              std::vector<uint8_t>& char_start) {
    const size_t n = tokens.size();
    kind.assign(n + 1, None);
    char_start.assign(n + 1, 1);
    std::string tail;   // the last few bytes before token t
    for (size_t t = 0; t < n; ++t) {
        const std::string& b = tok.token_bytes(tokens[t]);
        if (t > 0) {
            const char next = b.empty() ? '\0' : b[0];
            char_start[t] = b.empty() || (uint8_t(next) & 0xC0) != 0x80;
            const bool space_next = next == ' ' || next == '\n';
            auto ends = [&](std::string_view s) { return tail.size() >= s.size() && tail.compare(tail.size() - s.size(), s.size(), s) == 0; };
            if (ends("\n\n")) kind[t] = Paragraph;
            else if ((space_next && (ends(".") || ends("!") || ends("?") || ends(":"))) || ends("\xE3\x80\x82") ||
                     ends("\xEF\xBC\x81") || ends("\xEF\xBC\x9F") || ends("\n"))
                kind[t] = Sentence;
        }
        tail += b;
        if (tail.size() > 8) tail.erase(0, tail.size() - 8);
    }
}

}  // namespace

std::vector<ChunkSpan> plan_chunks(const std::vector<int32_t>& tokens, const Tokenizer& tok, size_t budget, size_t overlap) {
    if (budget < 16 || overlap >= budget / 2) throw Error("chunk budget too small for the overlap");
    std::vector<uint8_t> kind, char_start;
    classify(tokens, tok, kind, char_start);
    const size_t n = tokens.size();
    std::vector<ChunkSpan> out;
    for (size_t start = 0; start < n;) {
        size_t end = std::min(start + budget, n);
        if (end < n) {
            // The latest paragraph end in the second half of the window, else the latest
            // sentence end, else the latest character boundary.
            size_t cut = 0;
            for (uint8_t want : {uint8_t(Paragraph), uint8_t(Sentence)}) {
                for (size_t t = end; t > start + budget / 2 && !cut; --t)
                    if (kind[t] >= want) cut = t;
                if (cut) break;
            }
            if (!cut)
                for (size_t t = end; t > start + overlap + 1 && !cut; --t)
                    if (char_start[t]) cut = t;
            end = cut ? cut : end;
        }
        out.push_back({start, end});
        if (end == n) break;
        size_t next = end - overlap;
        while (next > start + 1 && !char_start[next]) --next;   // do not start inside a character
        start = std::max(next, start + 1);
    }
    return out;
}

SummaryResult summarize(Generator& gen, const PromptFormat& format, const std::string& document, const SummarizeOptions& o,
                        const std::function<void(const SummaryProgress&)>& on_progress, const std::atomic<bool>* cancel) {
    SummaryResult result;
    const int ctx = gen.context_length();
    // Tokens the template itself takes, plus room for the summary.
    const int overhead = int(gen.encode(summarize_prompt(format, SummaryLength::Bullets, "")).size()) + 8;
    const int budget = ctx - overhead - o.generation.max_new_tokens;
    if (budget < 64)
        throw ContextFullError("the context (" + std::to_string(ctx) + " tokens) leaves no room for document chunks with " +
                               std::to_string(o.generation.max_new_tokens) + " tokens of summary");
    std::string text = document;
    for (int level = 1;; ++level) {
        const std::vector<int32_t> tokens = gen.encode(text);
        const bool fits = int(tokens.size()) <= budget;
        const std::vector<ChunkSpan> plan =
            fits ? std::vector<ChunkSpan>{{0, tokens.size()}} : plan_chunks(tokens, gen.tokenizer(), size_t(budget), o.overlap_tokens);
        if (level == 1) result.chunks = int(plan.size());
        result.levels = level;
        // Intermediate summaries keep detail (medium, or bullets when bullets were asked for).
        const SummaryLength length = fits ? o.length : (o.length == SummaryLength::Bullets ? SummaryLength::Bullets : SummaryLength::Medium);
        std::string joined;
        for (size_t i = 0; i < plan.size(); ++i) {
            if (on_progress) on_progress({level, int(i) + 1, int(plan.size())});
            const std::string chunk = gen.tokenizer().decode(
                std::span<const int32_t>(tokens).subspan(plan[i].begin, plan[i].end - plan[i].begin));
            const GenerationResult g = gen.generate(gen.encode(summarize_prompt(format, length, chunk)), o.generation, {}, cancel);
            std::string s = g.text;
            if (!s.empty() && s.front() == ' ') s.erase(0, 1);
            joined += (joined.empty() ? "" : "\n\n") + s;
            if (g.stop == StopReason::Cancelled || (cancel && cancel->load())) {
                result.cancelled = true;
                result.text = joined;
                return result;
            }
        }
        if (fits) {
            result.text = joined;
            return result;
        }
        if (gen.encode(joined).size() >= tokens.size())
            throw Error("summarizing does not shorten this text (the model repeats it); stopped at level " + std::to_string(level));
        text = joined;
    }
}

}  // namespace phidesk
