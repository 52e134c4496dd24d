// A conversation: its turns, rendered through the prompt format each time, with the oldest
// turns left out (and reported) when the conversation outgrows the context.
#pragma once
#include <string>
#include <vector>

#include "phidesk/generator.h"
#include "phidesk/prompt.h"

namespace phidesk {

struct ChatReply {
    std::string reply;            // the assistant's text as stored in the history (no leading space)
    GenerationResult generation;
    int turns_left_out = 0;       // oldest turns not in this prompt because the context is full
};

class ChatSession {
public:
    ChatSession(Generator& gen, PromptFormat format, std::string system = {});

    // Adds the message and the model's reply to the history. The Generator reuses the KV cache
    // for the part of the prompt unchanged since the last turn.
    ChatReply send(const std::string& message, const GenerateOptions& o,
                   const std::function<void(const TokenEvent&)>& on_token = {}, const std::atomic<bool>* cancel = nullptr);

    const std::vector<ChatTurn>& turns() const { return turns_; }
    void set_turns(std::vector<ChatTurn> turns) { turns_ = std::move(turns); }   // restore, edit, regenerate
    const std::string& system() const { return system_; }

    // The prompt for `message`, leaving out as many of the oldest turns as needed so that the
    // prompt plus `reserve` new tokens fit the context. Throws ContextFullError if even the
    // message alone does not fit.
    std::vector<int32_t> prompt_for(const std::string& message, int reserve, int& turns_left_out) const;

private:
    Generator& gen_;
    PromptFormat format_;
    std::string system_;
    std::vector<ChatTurn> turns_;
};

}  // namespace phidesk
