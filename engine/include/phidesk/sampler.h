// Choosing the next token from logits: greedy, or temperature with top-k, top-p and min-p,
// with a repetition penalty over recent tokens. Reproducible from its seed on one backend.
#pragma once
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace phidesk {

struct SamplerParams {
    float temperature = 0.0f;     // <= 0: greedy (argmax, ties to the lowest id)
    int top_k = 0;                // 0: off
    float top_p = 1.0f;           // 1: off
    float min_p = 0.0f;           // 0: off; keeps tokens with p >= min_p * p(best)
    float repeat_penalty = 1.0f;  // 1: off; > 1 discourages tokens seen in the window
    int repeat_window = 64;       // how many recent tokens the penalty looks at
    uint64_t seed = 0;
};

// Sensible defaults per job for phi-2 (README explains them).
enum class Job { Chat, Code, Summary };
SamplerParams default_sampling(Job job);
const char* job_name(Job job);

class Sampler {
public:
    explicit Sampler(const SamplerParams& p);
    // `logits` is modified in place (penalty, temperature). `recent` are the last tokens (context).
    int32_t sample(std::span<float> logits, std::span<const int32_t> recent);
    // The ids sampling would choose among, with their probabilities, highest first (for tests/UI).
    std::vector<std::pair<int32_t, float>> candidates(std::span<float> logits, std::span<const int32_t> recent);
    const SamplerParams& params() const { return p_; }

    // For a backend that chooses where the logits are (a GPU): it applies the repetition penalty
    // to the ids `penalized` gives, divides by the temperature when sampling, and hands
    // sample_best() the best_count() best (id, value) pairs, highest value first, ties to the
    // lower id. The result is the id sample() would give. best_count() is 0 when sampling needs
    // every logit (no top-k).
    std::span<const int32_t> penalized(std::span<const int32_t> recent);
    int best_count() const { return p_.temperature <= 0.0f ? 1 : p_.top_k; }
    int32_t sample_best(std::span<const std::pair<int32_t, float>> best);

private:
    void filter(std::span<float> logits, std::span<const int32_t> recent);
    void normalize();
    int32_t draw();
    SamplerParams p_;
    std::mt19937_64 rng_;
    std::vector<std::pair<int32_t, float>> cand_;   // reused: no allocation per token
    std::vector<int32_t> seen_;                     // distinct recent tokens, reused too
};

int32_t argmax(std::span<const float> logits);

}  // namespace phidesk
