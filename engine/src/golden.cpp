#include "phidesk/golden.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <span>

#include "json_file.h"
#include "phidesk/error.h"
#include "phidesk/sampler.h"

namespace phidesk {
namespace {

using nlohmann::json;

int argmax(const float* v, size_t n) {
    return int(std::max_element(v, v + n) - v);   // first maximum: ties go to the lowest id
}

std::vector<int32_t> ids(const json& a) { return a.get<std::vector<int32_t>>(); }

// The backend's own sampling picks (a GPU picks on the device) against the host sampler's on
// the same backend's logits at the last prompt position, for settings using every sampler stage.
void check_picks(Backend& b, std::span<const int32_t> tokens, GoldenCase& r) {
    static const SamplerParams settings[] = {
        {.temperature = 0.0f, .repeat_penalty = 1.3f},   // greedy with a repetition penalty
        {.temperature = 0.7f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .repeat_penalty = 1.1f},
        {.temperature = 1.5f, .top_k = 5},
        {.temperature = 0.3f, .top_k = 200, .top_p = 0.5f, .repeat_penalty = 1.2f, .repeat_window = 8},
    };
    const int prefix = int(tokens.size()) - 1;
    std::vector<float> logits;
    b.truncate(0);
    if (prefix > 0) b.eval(tokens.first(size_t(prefix)), LogitsFor::Last, logits);
    for (SamplerParams p : settings)
        for (uint64_t seed = 1; seed <= 4; ++seed) {
            p.seed = seed;
            Sampler backend_pick(p), host_pick(p);
            b.truncate(prefix);
            const int32_t got = b.eval_and_pick(tokens.last(1), backend_pick, tokens);
            b.truncate(prefix);
            b.eval(tokens.last(1), LogitsFor::Last, logits);
            ++r.picks_checked;
            r.picks_wrong += got != host_pick.sample(logits, tokens);
        }
}

GoldenCase check_case(Backend& b, const json& c, size_t vocab, double tol) {
    GoldenCase r;
    r.name = c.at("name").get<std::string>();
    const std::vector<int32_t> tokens = ids(c.at("tokens"));
    const std::vector<int32_t> greedy = ids(c.at("greedy"));
    const std::vector<float> last = c.at("last_logits").get<std::vector<float>>();
    const std::vector<float> margins = c.at("greedy_margins").get<std::vector<float>>();
    const json& topk = c.at("topk");
    const size_t T = tokens.size();
    r.tokens = int(T);
    if (last.size() != vocab || topk.size() != T || margins.size() != greedy.size())
        throw Error("golden case " + r.name + ": sizes do not match the model");

    // One teacher-forced pass over tokens + greedy gives every position's logits.
    std::vector<int32_t> all = tokens;
    all.insert(all.end(), greedy.begin(), greedy.end());
    std::vector<float> logits;
    b.truncate(0);
    b.eval(all, LogitsFor::All, logits);
    auto row = [&](size_t t) { return logits.data() + t * vocab; };

    for (size_t i = 0; i < vocab; ++i) r.max_abs_last = std::max(r.max_abs_last, double(std::fabs(row(T - 1)[i] - last[i])));
    for (size_t t = 0; t < T; ++t) {
        const json& k = topk[t];
        for (const json& e : k) r.max_abs_topk = std::max(r.max_abs_topk, std::fabs(double(row(t)[e[0].get<int>()]) - e[1].get<double>()));
        if (k.size() >= 2 && k[0][1].get<double>() - k[1][1].get<double>() > 2 * tol) {
            ++r.top1_checked;
            r.top1_wrong += argmax(row(t), vocab) != k[0][0].get<int>();
        }
    }
    for (size_t i = 0; i < greedy.size(); ++i) {
        if (margins[i] < 2 * tol) continue;
        ++r.greedy_checked;
        r.greedy_wrong += argmax(row(T - 1 + i), vocab) != greedy[i];
    }

    // The real generation path: prefill, then one cached step per token, each greedy pick made
    // by the backend (a GPU picks on the device), until the first near-tie.
    Sampler pick{SamplerParams{}};
    b.truncate(0);
    int32_t next = b.eval_and_pick(tokens, pick, tokens);
    for (size_t i = 0; i < greedy.size() && margins[i] >= 2 * tol; ++i) {
        ++r.kv_steps;
        if (next != greedy[i]) { ++r.kv_wrong; break; }
        if (i + 1 < greedy.size()) next = b.eval_and_pick(std::span<const int32_t>(&next, 1), pick, {});
    }
    check_picks(b, tokens, r);
    r.pass = r.max_abs_last <= tol && r.max_abs_topk <= tol && r.top1_wrong == 0 && r.greedy_wrong == 0 &&
             r.kv_wrong == 0 && r.picks_wrong == 0;
    return r;
}

}  // namespace

double golden_tolerance(Precision p) {
    switch (p) {
    case Precision::F32: return 1e-3;
    case Precision::F16: return 5e-2;
    case Precision::BF16: return 0.25;
    }
    return 1e-3;
}

GoldenReport verify_golden(Backend& backend, const std::filesystem::path& golden_json, double tolerance) {
    const json g = read_json_file(golden_json, "golden file");
    GoldenReport r;
    r.tolerance = tolerance > 0 ? tolerance : golden_tolerance(backend.precision());
    try {
        r.model = g.at("model").get<std::string>();
        const json& cases = g.at("cases");
        const size_t vocab = cases.at(0).at("last_logits").size();
        for (const json& c : cases) r.cases.push_back(check_case(backend, c, vocab, r.tolerance));
    } catch (const json::exception& e) {
        throw Error(golden_json.string() + ": not a golden file of the expected layout (" + e.what() + ")");
    }
    r.pass = !r.cases.empty() && std::all_of(r.cases.begin(), r.cases.end(), [](const GoldenCase& c) { return c.pass; });
    backend.truncate(0);
    return r;
}

std::string format_report(const GoldenReport& r) {
    std::string out;
    char line[256];
    std::snprintf(line, sizeof line, "model %s, tolerance %.3g\n%-8s %6s %12s %12s %9s %9s %9s %7s  %s\n", r.model.c_str(),
                  r.tolerance, "case", "tokens", "max|d|last", "max|d|topk", "top1", "greedy", "kv-greedy", "picks", "result");
    out += line;
    for (const GoldenCase& c : r.cases) {
        auto frac = [](int wrong, int checked) { return std::to_string(checked - wrong) + "/" + std::to_string(checked); };
        std::snprintf(line, sizeof line, "%-8s %6d %12.3e %12.3e %9s %9s %9s %7s  %s\n", c.name.c_str(), c.tokens,
                      c.max_abs_last, c.max_abs_topk, frac(c.top1_wrong, c.top1_checked).c_str(),
                      frac(c.greedy_wrong, c.greedy_checked).c_str(), frac(c.kv_wrong, c.kv_steps).c_str(),
                      frac(c.picks_wrong, c.picks_checked).c_str(), c.pass ? "ok" : "FAIL");
        out += line;
    }
    out += r.pass ? "PASS\n" : "FAIL\n";
    return out;
}

}  // namespace phidesk
