// Summaries of documents of any length: split by tokens on paragraph or sentence boundaries
// with a small overlap, summarize each chunk, then summarize the summaries (map-reduce,
// recursively while they still do not fit).
#pragma once
#include <atomic>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "phidesk/generator.h"
#include "phidesk/prompt.h"

namespace phidesk {

struct ChunkSpan {
    size_t begin, end;   // token indices [begin, end)
};

// Chunks of at most `budget` tokens; each after the first starts `overlap` tokens before the
// previous one ended; cuts prefer a paragraph end, then a sentence end, never split a character.
std::vector<ChunkSpan> plan_chunks(const std::vector<int32_t>& tokens, const Tokenizer& tok, size_t budget, size_t overlap);

struct SummarizeOptions {
    SummaryLength length = SummaryLength::Medium;
    GenerateOptions generation;
    size_t overlap_tokens = 32;
};

struct SummaryProgress {
    int level;    // 1: chunks of the document; 2...: summaries of summaries
    int chunk;    // 1-based, of `chunks` at this level; chunk == chunks once it is done
    int chunks;
};

struct SummaryResult {
    std::string text;
    int chunks = 0;       // chunks of the document (level 1)
    int levels = 0;
    bool cancelled = false;
};

SummaryResult summarize(Generator& gen, const PromptFormat& format, const std::string& document, const SummarizeOptions& o,
                        const std::function<void(const SummaryProgress&)>& on_progress = {},
                        const std::atomic<bool>* cancel = nullptr);

}  // namespace phidesk
