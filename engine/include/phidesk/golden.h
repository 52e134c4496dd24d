// Checks a backend against a golden.json of shared/reference (the format in its README):
// users run it as a self-test of their hardware, CI on every reference model.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "phidesk/backend.h"

namespace phidesk {

// Absolute logit tolerance for a backend's arithmetic (the reference README's table).
double golden_tolerance(Precision p);

struct GoldenCase {
    std::string name;
    int tokens = 0;
    double max_abs_last = 0;      // |ours - golden| over last_logits
    double max_abs_topk = 0;      // over the stored top-k logits of every position
    int top1_checked = 0, top1_wrong = 0;       // positions whose golden gap exceeds 2*tol
    int greedy_checked = 0, greedy_wrong = 0;   // teacher-forced greedy steps with margin >= 2*tol
    int kv_steps = 0, kv_wrong = 0;             // KV-cache greedy loop up to the first near-tie
    int picks_checked = 0, picks_wrong = 0;     // the backend's sampling picks vs the host sampler's
    bool pass = false;
};

struct GoldenReport {
    std::string model;
    double tolerance = 0;
    std::vector<GoldenCase> cases;
    bool pass = false;
};

// `tolerance` <= 0 takes golden_tolerance(backend.precision()). Resets the backend's cache.
GoldenReport verify_golden(Backend& backend, const std::filesystem::path& golden_json, double tolerance = 0);

std::string format_report(const GoldenReport& r);

}  // namespace phidesk
