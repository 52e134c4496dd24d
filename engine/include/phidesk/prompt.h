// Prompt formats: every template and speaker name in one piece of data (JSON-loadable), so a
// new format is new data. The defaults are exactly the canonical phi-2 / demo-model templates
// (shared/reference/demo/README.md).
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace phidesk {

struct PromptFormat {
    std::string qa = "Instruct: {question}\nOutput:";
    std::string chat_system = "{system}\n";                     // prepended once, when the chat has system text
    std::string chat_turn = "{user}: {text}\n{assistant}: {reply}\n";
    std::string chat_next = "{user}: {text}\n{assistant}:";
    std::string user_name = "User";
    std::string assistant_name = "Assistant";
    std::string code = "{prefix}";
    std::string code_from_description = "Instruct: {question}\nOutput:";   // "write code for this", QA form
    std::string summarize_sentences = "Instruct: Summarize the following text in {n} sentences.\n\n{text}\nOutput:";
    std::string summarize_one = "Instruct: Summarize the following text in one sentence.\n\n{text}\nOutput:";
    std::string summarize_bullets = "Instruct: Summarize the following text as bullet points.\n\n{text}\nOutput:";

    // Reads the fields present in `j` (others keep their defaults); errors name the field.
    static PromptFormat from_json(const nlohmann::json& j);
    nlohmann::json to_json() const;
};

// Replaces each {name} in `tmpl` by vars[name], in one pass: substituted text is never
// scanned again, so user text containing "{question}" stays as it is. Unknown names are errors.
std::string render(const std::string& tmpl, const std::map<std::string, std::string>& vars);

using ChatTurn = std::pair<std::string, std::string>;   // user text, assistant reply (no leading space)

std::string qa_prompt(const PromptFormat& f, const std::string& question);
std::string chat_prompt(const PromptFormat& f, const std::string& system, const std::vector<ChatTurn>& history,
                        const std::string& message);
std::string code_prompt(const PromptFormat& f, const std::string& prefix);

enum class SummaryLength { Short, Medium, Bullets };
SummaryLength parse_summary_length(const std::string& s);   // short | medium | bullets
std::string summarize_prompt(const PromptFormat& f, SummaryLength length, const std::string& text);

}  // namespace phidesk
