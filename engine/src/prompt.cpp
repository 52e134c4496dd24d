#include "phidesk/prompt.h"

#include <nlohmann/json.hpp>

#include "phidesk/error.h"

namespace phidesk {
namespace {

// The data fields, by name, for JSON in and out.
std::vector<std::pair<const char*, std::string PromptFormat::*>> fields() {
    return {{"qa", &PromptFormat::qa},
            {"chat_system", &PromptFormat::chat_system},
            {"chat_turn", &PromptFormat::chat_turn},
            {"chat_next", &PromptFormat::chat_next},
            {"user_name", &PromptFormat::user_name},
            {"assistant_name", &PromptFormat::assistant_name},
            {"code", &PromptFormat::code},
            {"code_from_description", &PromptFormat::code_from_description},
            {"summarize_sentences", &PromptFormat::summarize_sentences},
            {"summarize_one", &PromptFormat::summarize_one},
            {"summarize_bullets", &PromptFormat::summarize_bullets}};
}

}  // namespace

PromptFormat PromptFormat::from_json(const nlohmann::json& j) {
    PromptFormat f;
    if (!j.is_object()) throw Error("prompt format: must be a JSON object");
    for (const auto& [key, value] : j.items()) {
        bool known = false;
        for (const auto& [name, member] : fields()) {
            if (key != name) continue;
            if (!value.is_string()) throw Error(std::string("prompt format: field '") + name + "' must be a string");
            f.*member = value.get<std::string>();
            known = true;
        }
        if (!known) throw Error("prompt format: unknown field '" + key + "'");
    }
    return f;
}

nlohmann::json PromptFormat::to_json() const {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [name, member] : fields()) j[name] = this->*member;
    return j;
}

std::string render(const std::string& tmpl, const std::map<std::string, std::string>& vars) {
    std::string out;
    for (size_t i = 0; i < tmpl.size();) {
        const size_t open = tmpl.find('{', i);
        if (open == std::string::npos) {
            out.append(tmpl, i);
            break;
        }
        const size_t close = tmpl.find('}', open);
        if (close == std::string::npos) throw Error("template '" + tmpl + "': unclosed '{'");
        out.append(tmpl, i, open - i);
        const std::string name = tmpl.substr(open + 1, close - open - 1);
        auto it = vars.find(name);
        if (it == vars.end()) throw Error("template '" + tmpl + "': unknown placeholder {" + name + "}");
        out += it->second;
        i = close + 1;
    }
    return out;
}

std::string qa_prompt(const PromptFormat& f, const std::string& question) {
    return render(f.qa, {{"question", question}});
}

std::string chat_prompt(const PromptFormat& f, const std::string& system, const std::vector<ChatTurn>& history,
                        const std::string& message) {
    const std::map<std::string, std::string> names = {{"user", f.user_name}, {"assistant", f.assistant_name}};
    std::string out;
    if (!system.empty()) out += render(f.chat_system, {{"system", system}});
    for (const auto& [user, reply] : history) {
        auto vars = names;
        vars["text"] = user, vars["reply"] = reply;
        out += render(f.chat_turn, vars);
    }
    auto vars = names;
    vars["text"] = message;
    return out + render(f.chat_next, vars);
}

std::string code_prompt(const PromptFormat& f, const std::string& prefix) {
    return render(f.code, {{"prefix", prefix}});
}

SummaryLength parse_summary_length(const std::string& s) {
    if (s == "short") return SummaryLength::Short;
    if (s == "medium") return SummaryLength::Medium;
    if (s == "bullets") return SummaryLength::Bullets;
    throw Error("summary length must be short, medium or bullets, not '" + s + "'");
}

std::string summarize_prompt(const PromptFormat& f, SummaryLength length, const std::string& text) {
    switch (length) {
    case SummaryLength::Short: return render(f.summarize_one, {{"text", text}});
    case SummaryLength::Medium: return render(f.summarize_sentences, {{"n", "three"}, {"text", text}});
    case SummaryLength::Bullets: return render(f.summarize_bullets, {{"text", text}});
    }
    return {};
}

}  // namespace phidesk
