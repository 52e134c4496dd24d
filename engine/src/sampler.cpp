#include "phidesk/sampler.h"

#include <algorithm>
#include <cmath>

#include "phidesk/error.h"

namespace phidesk {

SamplerParams default_sampling(Job job) {
    SamplerParams p;
    switch (job) {
    case Job::Chat:   // varied but on topic; mild penalty against loops in long answers
        p.temperature = 0.7f, p.top_k = 40, p.top_p = 0.95f, p.min_p = 0.05f, p.repeat_penalty = 1.1f;
        break;
    case Job::Code:   // code wants the likely token; repetition is normal in code, so no penalty
        p.temperature = 0.2f, p.top_k = 20, p.top_p = 0.95f, p.min_p = 0.05f, p.repeat_penalty = 1.0f;
        break;
    case Job::Summary:   // faithful to the text, a little penalty against repeated sentences
        p.temperature = 0.3f, p.top_k = 40, p.top_p = 0.9f, p.min_p = 0.05f, p.repeat_penalty = 1.1f;
        break;
    }
    return p;
}

const char* job_name(Job job) {
    return job == Job::Chat ? "chat" : job == Job::Code ? "code" : "summary";
}

int32_t argmax(std::span<const float> logits) {
    return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

Sampler::Sampler(const SamplerParams& p) : p_(p), rng_(p.seed) {
    if (p.top_k < 0 || !(p.top_p > 0.0f && p.top_p <= 1.0f) || !(p.min_p >= 0.0f && p.min_p < 1.0f) ||
        !(p.repeat_penalty > 0.0f) || p.repeat_window < 0 || !std::isfinite(p.temperature))
        throw Error("invalid sampling settings (top_k >= 0, 0 < top_p <= 1, 0 <= min_p < 1, repeat_penalty > 0)");
    // seen_ holds at most repeat_window ids: reserved now, a growing context does not reallocate
    // it per token. (Capped: a window longer than any Phi context, 2048, would reserve in vain.)
    seen_.reserve(size_t(std::min(p.repeat_window, 4096)));
}

std::span<const int32_t> Sampler::penalized(std::span<const int32_t> recent) {
    seen_.clear();
    if (p_.repeat_penalty == 1.0f) return seen_;
    const size_t from = recent.size() > size_t(p_.repeat_window) ? recent.size() - size_t(p_.repeat_window) : 0;
    seen_.assign(recent.begin() + std::ptrdiff_t(from), recent.end());
    std::sort(seen_.begin(), seen_.end());
    seen_.erase(std::unique(seen_.begin(), seen_.end()), seen_.end());
    return seen_;
}

// Leaves in cand_ the allowed ids with normalized probabilities, highest first.
void Sampler::filter(std::span<float> logits, std::span<const int32_t> recent) {
    for (int32_t id : penalized(recent)) {   // CTRL-style: divide positive logits, multiply negative ones
        if (id < 0 || size_t(id) >= logits.size()) continue;
        float& l = logits[size_t(id)];
        l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
    }
    cand_.clear();
    if (p_.temperature <= 0.0f) {
        cand_.emplace_back(argmax(logits), 1.0f);
        return;
    }
    for (size_t i = 0; i < logits.size(); ++i) cand_.emplace_back(int32_t(i), logits[i] / p_.temperature);
    auto higher = [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); };
    const size_t k = p_.top_k > 0 ? std::min(cand_.size(), size_t(p_.top_k)) : cand_.size();
    std::partial_sort(cand_.begin(), cand_.begin() + std::ptrdiff_t(k), cand_.end(), higher);
    cand_.resize(k);
    normalize();
}

// cand_: values (logit / temperature), highest first -> the allowed ids with probabilities.
void Sampler::normalize() {
    const float max = cand_.front().second;
    double sum = 0;
    for (auto& c : cand_) sum += (c.second = std::exp(c.second - max));
    for (auto& c : cand_) c.second = float(c.second / sum);
    if (p_.top_p < 1.0f) {   // the smallest prefix whose mass reaches top_p
        double mass = 0;
        size_t keep = 0;
        while (keep < cand_.size() && mass < p_.top_p) mass += cand_[keep++].second;
        cand_.resize(std::max<size_t>(keep, 1));
    }
    if (p_.min_p > 0.0f) {
        const float floor = p_.min_p * cand_.front().second;
        while (cand_.size() > 1 && cand_.back().second < floor) cand_.pop_back();
    }
    sum = 0;
    for (const auto& c : cand_) sum += c.second;
    for (auto& c : cand_) c.second = float(c.second / sum);
}

int32_t Sampler::draw() {
    if (cand_.size() == 1) return cand_.front().first;
    const double r = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    double acc = 0;
    for (const auto& c : cand_)
        if ((acc += c.second) > r) return c.first;
    return cand_.back().first;
}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> recent) {
    filter(logits, recent);
    return draw();
}

int32_t Sampler::sample_best(std::span<const std::pair<int32_t, float>> best) {
    if (best.empty() || (best_count() > 0 && best.size() > size_t(best_count())))
        throw Error("sampler: expected at most " + std::to_string(best_count()) + " best candidates, got " +
                    std::to_string(best.size()));
    if (p_.temperature <= 0.0f) return best.front().first;
    cand_.assign(best.begin(), best.end());
    normalize();
    return draw();
}

std::vector<std::pair<int32_t, float>> Sampler::candidates(std::span<float> logits, std::span<const int32_t> recent) {
    filter(logits, recent);
    return cand_;
}

}  // namespace phidesk
