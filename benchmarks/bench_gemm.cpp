// Prefill's matrix products, PhiDesk's panel kernel against OpenBLAS's sgemm, in one process on
// the same weights: the measurement behind building our own (issue 7/8 asks for it). Prints JSON.
//
//   bench-gemm [--threads N] [--tokens 128] [--runs 5]
//
// Shapes: phi-2's four layer products (q, k and v are each the first), one layer's worth per
// run, against `tokens` prompt tokens. Each run times PhiDesk on F32 weights, PhiDesk on the
// same weights stored F16 (what a .phz holds), and OpenBLAS on the F32 weights, in turn, with a
// pause between them so that neither's idle threads spin while the other runs.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cpu/ops.h"
#include "phidesk/machine_bench.h"
#include "quantize.h"

extern "C" void openblas_set_num_threads(int);

namespace {

using namespace phidesk;
using Clock = std::chrono::steady_clock;

struct Shape {
    const char* name;
    int64_t out, in, times;   // times: how often a layer runs it (q, k, v)
};
constexpr Shape kShapes[] = {{"qkv", 2560, 2560, 3}, {"dense", 2560, 2560, 1}, {"fc1", 10240, 2560, 1}, {"fc2", 2560, 10240, 1}};

struct Weights {
    std::vector<float> f32;
    std::vector<uint8_t> f16;
    TensorView view_f32, view_f16;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

int64_t arg(int argc, char** argv, const std::string& name, int64_t fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (argv[i] == name) return std::stoll(argv[i + 1]);
    return fallback;
}

}  // namespace

int main(int argc, char** argv) {
    const int threads = int(arg(argc, argv, "--threads", physical_core_count()));
    const int64_t tokens = arg(argc, argv, "--tokens", 128), runs = arg(argc, argv, "--runs", 5);
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, 0.02f);

    std::vector<Weights> weights(std::size(kShapes));
    int64_t max_in = 0, max_out = 0;
    double flops = 0;
    for (size_t s = 0; s < std::size(kShapes); ++s) {
        const Shape& sh = kShapes[s];
        Weights& w = weights[s];
        w.f32.resize(size_t(sh.out * sh.in));
        for (float& v : w.f32) v = normal(rng);
        w.view_f32 = {sh.name, DType::F32, {sh.out, sh.in}, w.f32.data(), nullptr};
        w.f16 = convert_float(DType::F16, w.view_f32);
        w.view_f16 = {sh.name, DType::F16, {sh.out, sh.in}, w.f16.data(), nullptr};
        max_in = std::max(max_in, sh.in), max_out = std::max(max_out, sh.out);
        flops += 2.0 * double(sh.out * sh.in * tokens * sh.times);
    }
    std::vector<float> x(size_t(tokens * max_in)), y(size_t(tokens * max_out)), ref(y.size()), bias(size_t(max_out), 0.0f);
    for (float& v : x) v = normal(rng) * 50.0f;

    ThreadPool pool(threads);
    const CpuKernels& k = select_cpu_kernels("");
    ScratchBuffers scratch(threads, max_in, 0, 0, DType::F32);
    CpuContext cx{pool, k, scratch.data(), nullptr};
    openblas_set_num_threads(threads);

    auto phidesk_layer = [&](bool f16) {
        for (size_t s = 0; s < std::size(kShapes); ++s)
            for (int64_t r = 0; r < kShapes[s].times; ++r)
                linear(cx, f16 ? weights[s].view_f16 : weights[s].view_f32, bias.data(), x.data(), tokens, y.data());
    };
    auto openblas_layer = [&] {
        for (size_t s = 0; s < std::size(kShapes); ++s)
            for (int64_t r = 0; r < kShapes[s].times; ++r)   // y[t][o] = sum_i x[t][i] W[o][i]
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(tokens), int(kShapes[s].out),
                            int(kShapes[s].in), 1.0f, x.data(), int(kShapes[s].in), weights[s].f32.data(),
                            int(kShapes[s].in), 0.0f, ref.data(), int(kShapes[s].out));
    };
    auto gflops = [&](auto&& layer) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        const auto t0 = Clock::now();
        layer();
        return flops / std::chrono::duration<double>(Clock::now() - t0).count() / 1e9;
    };

    std::vector<double> ours_f32, ours_f16, blas;
    for (int64_t r = 0; r < runs; ++r) {
        ours_f32.push_back(gflops([&] { phidesk_layer(false); }));
        ours_f16.push_back(gflops([&] { phidesk_layer(true); }));
        blas.push_back(gflops(openblas_layer));
    }
    // The last product (fc2) of both, so the figures are of the same arithmetic.
    phidesk_layer(false);
    double max_diff = 0, max_ref = 0;
    for (int64_t i = 0; i < tokens * kShapes[3].out; ++i)
        max_diff = std::max(max_diff, double(std::fabs(y[size_t(i)] - ref[size_t(i)]))),
        max_ref = std::max(max_ref, double(std::fabs(ref[size_t(i)])));

    std::printf("{\n  \"threads\": %d,\n  \"tokens\": %lld,\n  \"runs\": %lld,\n  \"kernels\": \"%s\",\n", threads,
                static_cast<long long>(tokens), static_cast<long long>(runs), k.name);
    std::printf("  \"phidesk_f32_gflops\": %.1f,\n  \"phidesk_f16_gflops\": %.1f,\n  \"openblas_f32_gflops\": %.1f,\n",
                median(ours_f32), median(ours_f16), median(blas));
    std::printf("  \"phidesk_f32_over_openblas\": %.3f,\n  \"phidesk_f16_over_openblas\": %.3f,\n",
                median(ours_f32) / median(blas), median(ours_f16) / median(blas));
    std::printf("  \"fc2_max_abs_difference\": %.3g,\n  \"fc2_max_abs_value\": %.3g\n}\n", max_diff, max_ref);
    return max_diff <= 1e-4 * max_ref ? 0 : 1;
}
