#include "phidesk/chat.h"

#include <algorithm>

#include "phidesk/error.h"

namespace phidesk {

ChatSession::ChatSession(Generator& gen, PromptFormat format, std::string system)
    : gen_(gen), format_(std::move(format)), system_(std::move(system)) {}

std::vector<int32_t> ChatSession::prompt_for(const std::string& message, int reserve, int& turns_left_out) const {
    const int ctx = gen_.context_length();
    for (size_t skip = 0; skip <= turns_.size(); ++skip) {
        const std::vector<ChatTurn> kept(turns_.begin() + std::ptrdiff_t(skip), turns_.end());
        std::vector<int32_t> ids = gen_.encode(chat_prompt(format_, system_, kept, message));
        if (int(ids.size()) + reserve <= ctx) {
            turns_left_out = int(skip);
            return ids;
        }
    }
    throw ContextFullError("the message is too long for the context of " + std::to_string(ctx) +
                           " tokens (with room for a reply of " + std::to_string(reserve) + ")");
}

ChatReply ChatSession::send(const std::string& message, const GenerateOptions& o,
                            const std::function<void(const TokenEvent&)>& on_token, const std::atomic<bool>* cancel) {
    ChatReply r;
    // Room for the reply: what was asked for, but at most half the context, so that history
    // is not dropped just because max_new_tokens is large.
    const int reserve = std::min(o.max_new_tokens, gen_.context_length() / 2);
    const std::vector<int32_t> prompt = prompt_for(message, reserve, r.turns_left_out);
    r.generation = gen_.generate(prompt, o, on_token, cancel);
    // The template puts the space after "Assistant:"; the history stores the reply without it.
    r.reply = r.generation.text;
    if (!r.reply.empty() && r.reply.front() == ' ') r.reply.erase(0, 1);
    turns_.emplace_back(message, r.reply);
    return r;
}

}  // namespace phidesk
