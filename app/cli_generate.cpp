// phidesk-cli generate / chat / summarize: the engine's three jobs from the command line.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli_args.h"
#include "cli_commands.h"
#include "phidesk/chat.h"
#include "phidesk/error.h"
#include "phidesk/generator.h"
#include "phidesk/model.h"
#include "phidesk/summarize.h"

namespace phidesk::cli {
namespace {

using nlohmann::json;

std::atomic<bool> g_stop{false};

// Ctrl-C stops the current answer (not the program, in chat).
void catch_interrupt() {
    std::signal(SIGINT, [](int) { g_stop = true; });
}

struct Session {
    std::shared_ptr<const Model> model;
    std::unique_ptr<Generator> gen;
};

Session open_session(const Args& a) {
    Session s;
    const std::string path = a.get("model");
    ModelOnBackend loaded = load_model_on_backend(path, backend_options(a));
    s.model = std::move(loaded.model);
    Tokenizer tok = Tokenizer::load(a.get("tokenizer", path));
    s.gen = std::make_unique<Generator>(std::move(loaded.backend), std::move(tok));
    return s;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open");
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

GenerateOptions generate_options(const Args& a, Job job) {
    GenerateOptions o;
    o.sampling = default_sampling(job);
    SamplerParams& p = o.sampling;
    p.temperature = float(a.get_double("temperature", p.temperature));
    p.top_k = a.get_int("top-k", p.top_k);
    p.top_p = float(a.get_double("top-p", p.top_p));
    p.min_p = float(a.get_double("min-p", p.min_p));
    p.repeat_penalty = float(a.get_double("repeat-penalty", p.repeat_penalty));
    p.repeat_window = a.get_int("repeat-window", p.repeat_window);
    p.seed = uint64_t(a.get_int("seed", int(p.seed)));
    o.max_new_tokens = a.get_int("max-tokens", 256);
    o.stop_strings = a.get_all("stop");
    if (o.max_new_tokens < 1) throw Error("--max-tokens must be at least 1");
    return o;
}

void print_stats(const GenerationResult& r) {
    std::fprintf(stderr, "[%d prompt tokens (%d reused), %zu generated, stop: %s, prefill %.2f s, %.1f tokens/s]\n",
                 r.prompt_tokens, r.reused_tokens, r.ids.size(), stop_reason_name(r.stop), r.prefill_seconds,
                 r.decode_tokens_per_second());
}

}  // namespace

int cmd_generate(const Args& a) {
    Session s = open_session(a);
    const std::string tmpl = a.get("template", "raw");
    const Job job = tmpl == "code" ? Job::Code : Job::Chat;
    const GenerateOptions o = generate_options(a, job);
    const bool as_json = a.has("json");
    std::vector<int32_t> prompt;
    if (a.has("prompt-ids")) {
        prompt = parse_id_list(a.get("prompt-ids"));
    } else {
        const std::string text = a.has("file") ? read_file(a.get("file")) : a.get("prompt");
        const PromptFormat f;
        std::string rendered;
        if (tmpl == "qa") rendered = qa_prompt(f, text);
        else if (tmpl == "chat") rendered = chat_prompt(f, "", {}, text);
        else if (tmpl == "code") rendered = code_prompt(f, text);
        else if (tmpl == "raw") rendered = text;
        else throw Error("--template must be qa, chat, code or raw");
        prompt = s.gen->encode(rendered);
    }
    a.reject_unknown();
    catch_interrupt();
    auto stream = [&](const TokenEvent& e) {
        if (as_json) return;
        std::fwrite(e.delta.data(), 1, e.delta.size(), stdout);
        std::fflush(stdout);
    };
    const GenerationResult r = s.gen->generate(prompt, o, stream, &g_stop);
    if (as_json) {
        json out = {{"ids", r.ids}, {"text", r.text}, {"stop_reason", stop_reason_name(r.stop)},
                    {"prompt_tokens", r.prompt_tokens}, {"generated_tokens", r.ids.size()},
                    {"prefill_seconds", r.prefill_seconds}, {"decode_seconds", r.decode_seconds},
                    {"decode_tokens_per_second", r.decode_tokens_per_second()}};
        std::cout << out.dump() << "\n";
    } else {
        std::printf("\n");
        std::fflush(stdout);
        print_stats(r);
    }
    return 0;
}

int cmd_chat(const Args& a) {
    Session s = open_session(a);
    const GenerateOptions o = generate_options(a, Job::Chat);
    ChatSession chat(*s.gen, PromptFormat{}, a.get("system", ""));
    a.reject_unknown();
    catch_interrupt();
    const bool tty = isatty(STDIN_FILENO);
    if (tty) std::fprintf(stderr, "PhiDesk chat on %s. /reset starts over, /quit or Ctrl-D ends; Ctrl-C stops an answer.\n",
                          s.model->path().c_str());
    for (std::string line;;) {
        if (tty) std::fprintf(stderr, "\nUser: ");
        if (!std::getline(std::cin, line)) break;
        if (line == "/quit") break;
        if (line == "/reset") {
            chat.set_turns({});
            continue;
        }
        if (line.empty()) continue;
        g_stop = false;
        if (tty) std::fprintf(stderr, "Assistant:");
        try {
            const ChatReply r = chat.send(line, o, [](const TokenEvent& e) {
                std::fwrite(e.delta.data(), 1, e.delta.size(), stdout);
                std::fflush(stdout);
            }, &g_stop);
            std::printf("\n");
            std::fflush(stdout);
            if (r.turns_left_out > 0)
                std::fprintf(stderr, "[the %d oldest turn(s) no longer fit the context and were left out]\n", r.turns_left_out);
            if (tty) print_stats(r.generation);
        } catch (const ContextFullError& e) {
            std::fprintf(stderr, "phidesk-cli: %s\n", e.what());
        }
    }
    return 0;
}

int cmd_summarize(const Args& a) {
    Session s = open_session(a);
    SummarizeOptions o;
    o.generation = generate_options(a, Job::Summary);
    o.length = parse_summary_length(a.get("length", "medium"));
    const std::string text = read_file(a.get("file"));
    a.reject_unknown();
    catch_interrupt();
    const SummaryResult r = summarize(*s.gen, PromptFormat{}, text, o, [](const SummaryProgress& p) {
        std::fprintf(stderr, "\rsummarizing: %s chunk %d of %d   ", p.level == 1 ? "document" : "summaries", p.chunk, p.chunks);
    }, &g_stop);
    std::fprintf(stderr, "\n");
    std::printf("%s\n", r.text.c_str());
    if (r.cancelled) std::fprintf(stderr, "[cancelled: the text above covers only the chunks done]\n");
    return r.cancelled ? 130 : 0;
}

}  // namespace phidesk::cli
