#include "phidesk/golden.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "json_file.h"
#include "phidesk/error.h"

namespace phidesk {
namespace {

using nlohmann::json;

int argmax(const float* v, size_t n) {
    return int(std::max_element(v, v + n) - v);   // first maximum: ties go to the lowest id
}

std::vector<int32_t> ids(const json& a) { return a.get<std::vector<int32_t>>(); }

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

    // The real generation path: prefill, then one cached step per token, until the first near-tie.
    b.truncate(0);
    b.eval(tokens, LogitsFor::Last, logits);
    for (size_t i = 0; i < greedy.size() && margins[i] >= 2 * tol; ++i) {
        const int32_t next = argmax(logits.data(), vocab);
        ++r.kv_steps;
        if (next != greedy[i]) { ++r.kv_wrong; break; }
        if (i + 1 < greedy.size()) b.eval(std::span<const int32_t>(&next, 1), LogitsFor::Last, logits);
    }
    r.pass = r.max_abs_last <= tol && r.max_abs_topk <= tol && r.top1_wrong == 0 && r.greedy_wrong == 0 && r.kv_wrong == 0;
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
    std::snprintf(line, sizeof line, "model %s, tolerance %.3g\n%-8s %6s %12s %12s %9s %9s %9s  %s\n", r.model.c_str(),
                  r.tolerance, "case", "tokens", "max|d|last", "max|d|topk", "top1", "greedy", "kv-greedy", "result");
    out += line;
    for (const GoldenCase& c : r.cases) {
        auto frac = [](int wrong, int checked) { return std::to_string(checked - wrong) + "/" + std::to_string(checked); };
        std::snprintf(line, sizeof line, "%-8s %6d %12.3e %12.3e %9s %9s %9s  %s\n", c.name.c_str(), c.tokens,
                      c.max_abs_last, c.max_abs_topk, frac(c.top1_wrong, c.top1_checked).c_str(),
                      frac(c.greedy_wrong, c.greedy_checked).c_str(), frac(c.kv_wrong, c.kv_steps).c_str(),
                      c.pass ? "ok" : "FAIL");
        out += line;
    }
    out += r.pass ? "PASS\n" : "FAIL\n";
    return out;
}

}  // namespace phidesk
