// Generation: goldens through the sampler loop, sampling rules, stop strings, cancellation,
// chat context management, summarization, and every recorded case of the demo model.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>
#include <utility>

#include "phidesk/chat.h"
#include "phidesk/error.h"
#include "phidesk/generator.h"
#include "phidesk/model.h"
#include "phidesk/summarize.h"
#include "test_support.h"

using namespace phidesk;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path demo_dir() { return test::reference_dir() / "demo" / "phi-demo"; }

std::unique_ptr<Generator> generator(const fs::path& model, int context = 0, const fs::path& tokenizer = {},
                                     const std::string& kv_cache = "f32") {
    BackendOptions o;
    o.context = context;
    o.kv_cache = kv_cache;
    return std::make_unique<Generator>(make_backend(Model::load(model), o),
                                       Tokenizer::load(tokenizer.empty() ? model : tokenizer));
}

// A backend whose pick fails once after its tokens ran (as a GPU's pick on the device may), and
// which can raise Stop once it has run a first piece of a prompt.
class InstrumentedBackend final : public Backend {
public:
    explicit InstrumentedBackend(std::unique_ptr<Backend> b) : b_(std::move(b)) {}
    std::string description() const override { return b_->description(); }
    Precision precision() const override { return b_->precision(); }
    int context_length() const override { return b_->context_length(); }
    size_t kv_cache_bytes() const override { return b_->kv_cache_bytes(); }
    int cached_tokens() const override { return b_->cached_tokens(); }
    void truncate(int n) override { b_->truncate(n); }
    void eval(std::span<const int32_t> t, LogitsFor which, std::vector<float>& l) override {
        b_->eval(t, which, l);
        if (stop_after_eval) stop_after_eval->store(true);
    }
    int32_t eval_and_pick(std::span<const int32_t> t, Sampler& s, std::span<const int32_t> recent) override {
        const int32_t id = b_->eval_and_pick(t, s, recent);
        if (std::exchange(fail, false)) throw Error("pick failed");
        return id;
    }
    bool fail = false;
    std::atomic<bool>* stop_after_eval = nullptr;

private:
    std::unique_ptr<Backend> b_;
};

GenerateOptions greedy(int max_tokens) {
    GenerateOptions o;
    o.max_new_tokens = max_tokens;
    return o;
}

}  // namespace

class TestGenerate : public QObject {
    Q_OBJECT
    std::unique_ptr<Generator> demo_;

private slots:
    void initTestCase() { demo_ = generator(demo_dir()); }

    void greedy_matches_goldens_data() {
        QTest::addColumn<QString>("model");
        for (const char* m : {"micro-phi", "tiny-phi2", "tiny-phi15"}) QTest::newRow(m) << m;
    }

    void greedy_matches_goldens() {
        QFETCH(QString, model);
        auto gen = generator(test::model_dir(model.toStdString()), 0, test::reference_dir() / "tokenizer");
        const json golden = json::parse(std::ifstream(test::model_dir(model.toStdString()) / "golden.json"));
        GenerateOptions o = greedy(48);
        o.stop_at_eos = false;   // the goldens treat EOS as an ordinary token
        int checked = 0;
        for (const json& c : golden["cases"]) {
            const auto tokens = c["tokens"].get<std::vector<int32_t>>();
            const auto want = c["greedy"].get<std::vector<int32_t>>();
            const auto margins = c["greedy_margins"].get<std::vector<double>>();
            const GenerationResult r = gen->generate(tokens, o);
            QCOMPARE(r.ids.size(), size_t(48));
            for (size_t i = 0; i < want.size() && margins[i] >= 2e-3; ++i, ++checked)
                QVERIFY2(r.ids[i] == want[i], qPrintable(QString("%1 step %2").arg(QString::fromStdString(c["name"]), QString::number(i))));
        }
        QVERIFY(checked > 100);
    }

    void seeds_reproduce() {
        auto gen = generator(test::model_dir("tiny-phi2"), 0, test::reference_dir() / "tokenizer");
        GenerateOptions o = greedy(40);
        o.sampling.temperature = 1.0f;
        o.sampling.seed = 7;
        const std::vector<int32_t> prompt = {50256, 464, 318};
        const auto a = gen->generate(prompt, o), b = gen->generate(prompt, o);
        QCOMPARE(a.ids, b.ids);
        o.sampling.seed = 8;
        QVERIFY(gen->generate(prompt, o).ids != a.ids);
        o.sampling.top_k = 1;   // top-k 1 is greedy whatever the temperature
        const auto k1 = gen->generate(prompt, o);
        QCOMPARE(k1.ids, gen->generate(prompt, greedy(40)).ids);
    }

    void candidate_sets() {
        auto cands = [](SamplerParams p, std::vector<float> probs, std::vector<int32_t> recent = {}) {
            std::vector<float> logits;
            for (float x : probs) logits.push_back(std::log(x));
            p.temperature = p.temperature == 0 ? 1.0f : p.temperature;
            Sampler s(p);
            std::vector<int32_t> ids;
            double sum = 0;
            for (const auto& [id, prob] : s.candidates(logits, recent)) ids.push_back(id), sum += prob;
            if (std::fabs(sum - 1.0) > 1e-5) ids.push_back(-1);   // probabilities must be renormalized
            return ids;
        };
        const std::vector<float> probs = {0.5f, 0.25f, 0.15f, 0.07f, 0.03f};
        SamplerParams p;
        QCOMPARE(cands(p, probs), (std::vector<int32_t>{0, 1, 2, 3, 4}));
        p.top_p = 0.8f;   // 0.5 + 0.25 < 0.8, so 0.15 joins
        QCOMPARE(cands(p, probs), (std::vector<int32_t>{0, 1, 2}));
        p.top_p = 0.75f;   // reached exactly with two
        QCOMPARE(cands(p, probs), (std::vector<int32_t>{0, 1}));
        p = {};
        p.min_p = 0.2f;   // keeps p >= 0.1
        QCOMPARE(cands(p, probs), (std::vector<int32_t>{0, 1, 2}));
        p.min_p = 0.5f;   // keeps p >= 0.25
        QCOMPARE(cands(p, probs), (std::vector<int32_t>{0, 1}));
        p = {};
        p.top_k = 2;
        QCOMPARE(cands(p, probs), (std::vector<int32_t>{0, 1}));
        // Repetition penalty: token 0 was just used, so 1 wins under greedy.
        SamplerParams g;
        g.repeat_penalty = 1.2f;
        std::vector<float> logits = {2.0f, 1.9f};
        const std::vector<int32_t> recent = {0};
        QCOMPARE(Sampler(g).sample(logits, recent), 1);
    }

    // The contract a GPU backend implements (it picks where the logits are): penalty on the ids
    // penalized() names, division by the temperature, the best_count() best, highest first and
    // ties to the lower id, into sample_best(): the same ids as sample() on all the logits.
    void best_candidates_pick_like_all_logits() {
        std::mt19937 rng(5);
        std::normal_distribution<float> normal(0.0f, 3.0f);
        std::vector<float> logits(1000);
        for (float& l : logits) l = std::round(normal(rng) * 4.0f) / 4.0f;   // many exact ties
        std::vector<int32_t> recent;
        for (int i = 0; i < 80; ++i) recent.push_back(int32_t(rng() % 60));   // repeats, some ids twice
        const SamplerParams settings[] = {
            {.temperature = 0.0f, .repeat_penalty = 1.3f},
            {.temperature = 0.7f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .repeat_penalty = 1.1f},
            {.temperature = 1.5f, .top_k = 5},
            {.temperature = 0.3f, .top_k = 200, .top_p = 0.5f, .repeat_penalty = 1.2f, .repeat_window = 8},
            {.temperature = 2.0f, .top_k = 5000, .min_p = 0.01f},   // k beyond the vocabulary
        };
        int differing_draws = 0;
        for (SamplerParams p : settings)
            for (uint64_t seed = 1; seed <= 20; ++seed) {
                p.seed = seed;
                Sampler host(p), device(p);
                std::vector<float> all = logits, v = logits;
                for (int32_t id : device.penalized(recent)) {
                    float& l = v[size_t(id)];
                    l = l > 0 ? l / p.repeat_penalty : l * p.repeat_penalty;
                }
                std::vector<std::pair<int32_t, float>> best;
                for (size_t i = 0; i < v.size(); ++i) best.emplace_back(int32_t(i), p.temperature > 0 ? v[i] / p.temperature : v[i]);
                std::sort(best.begin(), best.end(), [](const auto& a, const auto& b) {
                    return a.second > b.second || (a.second == b.second && a.first < b.first);
                });
                best.resize(std::min(best.size(), size_t(device.best_count())));
                const int32_t want = host.sample(all, recent), got = device.sample_best(best);
                QCOMPARE(got, want);
                differing_draws += want != Sampler(p).sample_best(std::span(best).first(1));
            }
        QVERIFY(differing_draws > 0);   // the settings do sample (not always the top candidate)
        Sampler k5({.temperature = 1.0f, .top_k = 5});
        const std::vector<std::pair<int32_t, float>> six = {{0, 6.f}, {1, 5.f}, {2, 4.f}, {3, 3.f}, {4, 2.f}, {5, 1.f}};
        QVERIFY_THROWS_EXCEPTION(Error, k5.sample_best(six));
    }

    // After a failure, the generator's record of what the cache holds is still true: a prompt
    // that only the wrong record would share a prefix with is not given the old keys and values.
    void failed_pick_keeps_the_cache_record_true() {
        auto backend = std::make_shared<InstrumentedBackend>(make_backend(Model::load(demo_dir()), {}));
        Generator gen(backend, Tokenizer::load(demo_dir()));
        const std::vector<int32_t> first = {50256, 464, 318, 257}, second = {0, 0, 0, 0, 464};
        backend->fail = true;
        QVERIFY_THROWS_EXCEPTION(Error, gen.generate(first, greedy(4)));
        QCOMPARE(backend->cached_tokens(), int(first.size()));
        const GenerationResult r = gen.generate(second, greedy(8));
        QCOMPARE(r.reused_tokens, 0);
        QCOMPARE(r.ids, demo_->generate(second, greedy(8)).ids);
        QCOMPARE(gen.generate(first, greedy(8)).reused_tokens, 0);   // `second` replaced it
    }

    // Stop during a long prompt is answered between its 128-token pieces: the generation ends
    // cancelled without a token, the record of the cache is the piece that ran, and running the
    // same prompt again reuses that piece and answers as a fresh generator does.
    void stop_during_a_long_prompt() {
        auto backend = std::make_shared<InstrumentedBackend>(make_backend(Model::load(demo_dir()), {}));
        Generator gen(backend, Tokenizer::load(demo_dir()));
        std::vector<int32_t> prompt = demo_->encode(qa_prompt(PromptFormat{}, "What is Phi-2?"));
        while (prompt.size() < 300) prompt.insert(prompt.begin(), 464);
        std::atomic<bool> stop{false};
        backend->stop_after_eval = &stop;
        const GenerationResult r = gen.generate(prompt, greedy(8), {}, &stop);
        QCOMPARE(r.stop, StopReason::Cancelled);
        QVERIFY(r.ids.empty());
        QCOMPARE(backend->cached_tokens(), 128);
        backend->stop_after_eval = nullptr;
        stop = false;
        const GenerationResult again = gen.generate(prompt, greedy(8), {}, &stop);
        QCOMPARE(again.reused_tokens, 128);
        QCOMPARE(again.ids, demo_->generate(prompt, greedy(8)).ids);
    }

    void stop_strings_across_tokens() {
        const auto prompt = demo_->encode(qa_prompt(PromptFormat{}, "What is Phi-2?"));
        for (const auto& [stop, want] : {std::pair<std::string, std::string>{"small language", " Phi-2 is a "},
                                         {"2 is", " Phi-"}, {"December 2023. It", " Phi-2 is a small language model from Microsoft with 2.7 billion parameters, released in "}}) {
            GenerateOptions o = greedy(200);
            o.stop_strings = {"never appears", stop};
            std::string streamed;
            const GenerationResult r = demo_->generate(prompt, o, [&](const TokenEvent& e) { streamed += e.delta; });
            QCOMPARE(r.stop, StopReason::StopString);
            QCOMPARE(r.text, want);
            QCOMPARE(streamed, want);   // no part of the stop string was ever shown
        }
    }

    void cancellation_within_one_step() {
        auto gen = generator(test::model_dir("tiny-phi2"), 0, test::reference_dir() / "tokenizer");
        GenerateOptions o = greedy(400);
        o.stop_at_eos = false;
        std::atomic<bool> cancel{false};
        int at_cancel = -1;
        const GenerationResult r = gen->generate(std::vector<int32_t>{1, 2, 3}, o, [&](const TokenEvent& e) {
            if (e.generated == 5) cancel = true, at_cancel = e.generated;
        }, &cancel);
        QCOMPARE(r.stop, StopReason::Cancelled);
        QCOMPARE(int(r.ids.size()), at_cancel);   // not a single token after the request

        // From another thread, as the app's GUI does: measure the latency.
        cancel = false;
        std::atomic<int> produced{0};
        GenerationResult late;
        std::thread worker([&] { late = gen->generate(std::vector<int32_t>{1, 2, 3}, o, [&](const TokenEvent& e) { produced = e.generated; }, &cancel); });
        while (produced < 10) std::this_thread::yield();
        const auto t0 = std::chrono::steady_clock::now();
        const int before = produced;
        cancel = true;
        worker.join();
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        QCOMPARE(late.stop, StopReason::Cancelled);
        QVERIFY(int(late.ids.size()) <= before + 1);   // at most the step already running
        qInfo("cancel latency %.2f ms, %d token(s) after the request", ms, int(late.ids.size()) - before);
    }

    void prompt_longer_than_context() {
        auto gen = generator(test::model_dir("micro-phi"), 0, test::reference_dir() / "tokenizer");
        const std::vector<int32_t> prompt(256, 7);
        QVERIFY_THROWS_EXCEPTION(ContextFullError, gen->generate(prompt, greedy(4)));
        const std::vector<int32_t> fits(200, 7);
        QCOMPARE(gen->generate(fits, greedy(100)).stop, StopReason::ContextFull);
    }

    void chat_reuses_cache_and_drops_old_turns() {
        const json cases = json::parse(std::ifstream(test::reference_dir() / "demo" / "cases.json"))["cases"];
        std::vector<std::string> messages;
        for (const json& c : cases)
            if (c["name"].get<std::string>().rfind("chat_phi2_turn", 0) == 0) messages.push_back(c["params"]["message"]);
        QCOMPARE(int(messages.size()), 3);

        ChatSession chat(*demo_, PromptFormat{});
        const GenerateOptions o = greedy(300);
        int reused = 0;
        for (const std::string& m : messages) {
            const ChatReply r = chat.send(m, o);
            QCOMPARE(r.turns_left_out, 0);
            reused = r.generation.reused_tokens;
        }
        QVERIFY(reused > 60);   // turn 3 re-read only what changed since turn 2

        auto small = generator(demo_dir(), 150);
        ChatSession tight(*small, PromptFormat{});
        GenerateOptions short_reply = greedy(60);
        int left_out = 0;
        for (const std::string& m : messages) left_out = tight.send(m, short_reply).turns_left_out;
        QVERIFY(left_out >= 1);                 // reported, not silent
        QCOMPARE(int(tight.turns().size()), 3); // the history itself is kept
        QVERIFY_THROWS_EXCEPTION(ContextFullError, tight.send(std::string(3000, 'x'), short_reply));
    }

    void chunk_plan_covers_the_text() {
        std::ifstream in(PHIDESK_TEST_DATA "/Apache-2.0.txt");
        const std::string text((std::istreambuf_iterator<char>(in)), {});
        QVERIFY(text.size() > 10000);
        const auto tokens = demo_->encode(text);
        const size_t budget = 200, overlap = 16;
        const auto plan = plan_chunks(tokens, demo_->tokenizer(), budget, overlap);
        QVERIFY(plan.size() > 5);
        QCOMPARE(plan.front().begin, size_t(0));
        QCOMPARE(plan.back().end, tokens.size());
        size_t at_paragraph = 0;
        for (size_t i = 0; i < plan.size(); ++i) {
            QVERIFY(plan[i].end > plan[i].begin && plan[i].end - plan[i].begin <= budget);
            if (i == 0) continue;
            QVERIFY(plan[i].begin > plan[i - 1].begin);
            QVERIFY(plan[i].begin <= plan[i - 1].end);               // nothing skipped
            QVERIFY(plan[i - 1].end - plan[i].begin <= overlap);     // repeated only in the overlap
            const std::string before = demo_->tokenizer().decode(std::span(tokens).first(plan[i - 1].end));
            at_paragraph += before.size() >= 2 && before.substr(before.size() - 2) == "\n\n";
        }
        QVERIFY(at_paragraph * 2 >= plan.size() - 1);   // mostly cut at paragraph ends
    }

    void summarize_long_text_with_progress_and_cancel() {
        std::ifstream in(PHIDESK_TEST_DATA "/Apache-2.0.txt");
        const std::string text((std::istreambuf_iterator<char>(in)), {});
        auto gen = generator(demo_dir(), 512);
        SummarizeOptions o;
        o.generation = greedy(64);
        std::vector<SummaryProgress> seen;
        const SummaryResult r = summarize(*gen, PromptFormat{}, text, o, [&](const SummaryProgress& p) { seen.push_back(p); });
        QVERIFY(!r.cancelled);
        QVERIFY(r.chunks > 3);
        QVERIFY(r.levels >= 2);
        QVERIFY(!r.text.empty());
        int last_level1 = 0;
        for (const SummaryProgress& p : seen) {
            if (p.level != 1) continue;
            QCOMPARE(p.chunks, r.chunks);
            last_level1 = p.chunk;
        }
        QCOMPARE(last_level1, r.chunks);   // reached N of N

        std::atomic<bool> cancel{false};
        int events = 0;
        const SummaryResult c = summarize(*gen, PromptFormat{}, text, o, [&](const SummaryProgress& p) {
            ++events;
            if (p.chunk == 2) cancel = true;
        }, &cancel);
        QVERIFY(c.cancelled);
        QCOMPARE(events, 2);
    }

    void templates_are_data() {
        PromptFormat f;
        QCOMPARE(render(f.qa, {{"question", "{question} {x}"}}), std::string("Instruct: {question} {x}\nOutput:"));
        QVERIFY_THROWS_EXCEPTION(Error, render("{nope}", {}));
        json j = f.to_json();
        j["user_name"] = "Alice";
        j["assistant_name"] = "Bob";
        const PromptFormat g = PromptFormat::from_json(j);
        QCOMPARE(chat_prompt(g, "Be brief.", {{"Hi", "Hello!"}}, "Bye"), std::string("Be brief.\nAlice: Hi\nBob: Hello!\nAlice: Bye\nBob:"));
        QVERIFY_THROWS_EXCEPTION(Error, PromptFormat::from_json(json{{"qa_typo", "x"}}));
    }

    // The end-to-end fixture: our templates + tokenizer + engine + decoder give exactly the
    // recorded prompts and answers of the demo model, also with the KV cache in float16.
    void demo_model_cases_data() {
        QTest::addColumn<QString>("kv_cache");
        QTest::newRow("float32 KV cache") << "f32";
        QTest::newRow("float16 KV cache") << "f16";
    }

    void demo_model_cases() {
        QFETCH(QString, kv_cache);
        auto gen = generator(demo_dir(), 0, {}, kv_cache.toStdString());
        Generator& demo = *gen;
        QCOMPARE(demo.backend().precision(), kv_cache == "f16" ? Precision::F16 : Precision::F32);
        const json all = json::parse(std::ifstream(test::reference_dir() / "demo" / "cases.json"));
        const PromptFormat f;
        int n = 0;
        for (const json& c : all["cases"]) {
            const json& p = c["params"];
            const std::string t = c["template"];
            std::string prompt;
            if (t == "qa") {
                prompt = qa_prompt(f, p["question"]);
            } else if (t == "chat") {
                std::vector<ChatTurn> history;
                for (const json& h : p["history"]) history.emplace_back(h[0], h[1]);
                prompt = chat_prompt(f, "", history, p["message"]);
            } else if (t == "code") {
                prompt = code_prompt(f, p["prefix"]);
            } else {
                const std::string doc = p.contains("doc") ? all["documents"][p["doc"].get<std::string>()]["text"].get<std::string>()
                                                          : p["doc_text"].get<std::string>();
                if (p["style"] == "bullets") prompt = render(f.summarize_bullets, {{"text", doc}});
                else if (p.value("singular", false)) prompt = render(f.summarize_one, {{"text", doc}});
                else prompt = render(f.summarize_sentences, {{"n", p["n"].get<std::string>()}, {"text", doc}});
            }
            const std::string name = c["name"];
            QVERIFY2(prompt == c["prompt_text"].get<std::string>(), name.c_str());
            const auto ids = demo.encode(prompt);
            QVERIFY2(ids == c["prompt_ids"].get<std::vector<int32_t>>(), name.c_str());
            const GenerationResult r = demo.generate(ids, greedy(all["max_new_tokens"].get<int>()));
            std::vector<int32_t> got = r.ids;
            got.push_back(50256);
            QVERIFY2(r.stop == StopReason::Eos, name.c_str());
            QVERIFY2(got == c["greedy_ids"].get<std::vector<int32_t>>(), name.c_str());
            QVERIFY2(r.text == c["greedy_text"].get<std::string>(), name.c_str());
            ++n;
        }
        QCOMPARE(n, 53);
    }
};

QTEST_GUILESS_MAIN(TestGenerate)
#include "tst_generate.moc"
