// phidesk-cli: the headless tool. Every command prints its result on stdout (JSON where
// another program reads it) and its errors on stderr with a non-zero exit status.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <iostream>
#include <random>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <thread>
#include <filesystem>
#include <functional>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli_args.h"
#include "cli_commands.h"
#include "phidesk/backend.h"
#include "phidesk/error.h"
#include "phidesk/golden.h"
#include "phidesk/model.h"
#include "phidesk/phz.h"
#include "phidesk/sampler.h"
#include "phidesk/synth.h"
#include "phidesk/machine_bench.h"
#include "phidesk/tokenizer.h"
#include "phidesk/version.h"

namespace phidesk::cli {

BackendOptions backend_options(const Args& a) {
    BackendOptions o;
    o.backend = a.get("backend", "cpu");
    o.threads = a.get_int("threads", 0);
    o.context = a.get_int("context", 0);
    o.cpu_kernels = a.get("cpu-kernels", "");
    o.kv_cache = a.get("kv-cache", "f32");
    const std::string graphs = a.get("gpu-graphs", "on");
    if (graphs != "on" && graphs != "off") throw Error("--gpu-graphs must be on or off");
    o.gpu_graphs = graphs == "on";
    return o;
}

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

const char* kUsage = R"(usage: phidesk-cli COMMAND [options]

commands:
  generate --model PATH (--prompt TEXT | --file F | --prompt-ids 1,2,3) [--template qa|chat|code|raw]
           [--max-tokens 256] [--temperature T] [--top-k K] [--top-p P] [--min-p P]
           [--repeat-penalty R] [--repeat-window N] [--seed S] [--stop STR]... [--json]
                                            stream the continuation (--temperature 0: greedy)
  chat      --model PATH [--system TEXT] [sampling options]   interactive conversation on stdin
  summarize --model PATH --file F [--length short|medium|bullets]
                                            summary of a text of any length (progress on stderr)
  info    --model PATH [--verify]           config and tensor summary (.phz: compression ratios;
                                            --verify decompresses everything and checks every checksum)
  download --repo OWNER/NAME --out DIR [--hub URL] [--revision main] [--convert FILE.phz [--quant Q] [--delete-originals]]
                                            fetch a model from a Hugging Face hub (resumes; sizes and SHA-256
                                            checked; hub also from $PHIDESK_HUB_URL, token from $HF_TOKEN)
  convert --in HF_DIR --out model.phz [--quant keep|f16|bf16|int8|int4] [--level 3] [--threads N]
                                            write a single-file compressed model (progress on stderr)
  logits  (--model PATH | --synth PRESET [--quant Q]) --tokens 1,2,3 [--top K] [--one-at-a-time]
          [--against BACKEND [--against-gpu-graphs on|off]]
                                            JSON: last-position logits and top-K of every position
                                            (--one-at-a-time: one eval per token, the decode path;
                                            --against: also max |difference| from another backend,
                                            --against-gpu-graphs on|off for that one)
  verify  --model PATH --golden FILE [--tolerance T]
                                            check against a reference golden.json; exit 1 on mismatch
  bench   (--model PATH | --synth phi-2 [--quant f16|int8|int4]) [--prompt-tokens 128] [--gen-tokens 64] [--runs 3]
                                            JSON: load time, prefill and decode tokens/s, GB/s, GFLOP/s, peak RSS;
                                            on the CPU also each run against the machine's read
                                            bandwidth, FMA peak and dot rates measured just before it
  bench-memory [--threads N] [--mb 1024] [--backend cuda[:N]]
                                            JSON: this machine's read bandwidth (GB/s), or the GPU's copy bandwidth
  bench-flops  [--threads N]                JSON: this machine's fp32 FMA peak (GFLOP/s)
  bench-dot    [--threads N] [--dtype f32|f16|bf16|int8|int4] [--cpu-kernels L]
                                            JSON: how fast decode's dot consumes such weights
                                            from cache (GB/s), memory never waiting
  tokenize   --tokenizer PATH [--file F] [--special-as-text]
                                            JSON array of ids of the text (stdin without --file)
  detokenize --tokenizer PATH [--skip-special]
                                            text of the ids on stdin (JSON array or comma-separated)
  synth   --preset phi-2 --out DIR [--seed 1] [--dtype f16|bf16]
                                            random checkpoint of a real shape (phi-1, phi-1_5, phi-2, tiny-phi2, ...)
  bench-load --model HF_DIR --phz FILE [--runs 3]
                                            JSON: compression ratio, .phz load vs safetensors read time, peak RSS
  bench-tokenizer --tokenizer PATH --file F [--runs 5]
                                            JSON: encode and decode MB/s on one thread (medians)
  devices                                   backends available, the CPU, every GPU (or why CUDA is unusable)
  --version, --help

options for commands that run the model:
  --backend cpu|cuda|cuda:N|auto    --threads N (default: physical cores)    --context N
  --cpu-kernels portable|avx2|avx512 (default: the best this CPU runs)
  --gpu-graphs on|off (CUDA: replay the decode step as a captured graph; default on)
  --kv-cache f32|f16 (CPU: the KV cache's element type; f16 halves its memory and what a long
                      context's decode step reads, and rounds keys and values; a GPU keeps
                      float32; default f32)
PATH for --tokenizer: tokenizer.json, a .phz model, or a folder with tokenizer.json or vocab.json + merges.txt.
PATH for --model: a .phz file, or a Hugging Face folder (config.json + model.safetensors or a sharded index).
)";

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

void print_config(const ModelConfig& c) {
    std::printf("type        %s\nvocab       %d\nhidden      %d\nlayers      %d\nheads       %d (kv %d) x %d\n"
                "rotary_dim  %d\nintermediate %d\ncontext     %d\nrope_theta  %g\nln_eps      %g\n",
                c.model_type.c_str(), c.vocab_size, c.hidden_size, c.num_layers, c.num_heads, c.num_kv_heads,
                c.head_dim, c.rotary_dim, c.intermediate_size, c.max_positions, double(c.rope_theta),
                double(c.layer_norm_eps));
}

int info_phz(const Args& a, const std::string& path) {
    const bool verify = a.has("verify");
    a.reject_unknown();
    const PhzSummary s = summarize_phz(path);
    std::printf("model       %s\nheader      %s\n\ntensors:\n", path.c_str(), s.header_json.c_str());
    uint64_t raw = 0, packed = 0;
    for (const PhzTensorSummary& t : s.tensors) {
        std::printf("  %-44s %-4s %-14s %12llu -> %12llu  %.3f\n", t.name.c_str(), t.dtype.c_str(),
                    shape_string(t.shape).c_str(), (unsigned long long)t.raw_bytes,
                    (unsigned long long)t.compressed_bytes, double(t.compressed_bytes) / double(t.raw_bytes));
        raw += t.raw_bytes, packed += t.compressed_bytes;
    }
    std::printf("total       %llu -> %llu bytes, ratio %.4f\n", (unsigned long long)raw, (unsigned long long)packed,
                double(packed) / double(raw));
    if (verify) {
        const auto t0 = Clock::now();
        const auto model = Model::load(path);   // decompresses every chunk and checks its checksum
        std::printf("verify      ok: every chunk's checksum matches (%.2f s)\n", seconds_since(t0));
    }
    return 0;
}

int cmd_info(const Args& a) {
    const std::string path = a.get("model");
    if (is_phz(path)) return info_phz(a, path);
    const auto model = Model::load(path);
    a.reject_unknown();
    std::printf("model       %s\n", model->path().c_str());
    print_config(model->config());
    int64_t params = 0;
    for (const auto& [name, t] : model->tensors()) params += t->numel();
    std::printf("parameters  %lld (%.1f MB as stored)\n\ntensors:\n", (long long)params, double(model->weight_bytes()) / 1e6);
    for (const auto& [name, t] : model->tensors())
        std::printf("  %-48s %-5s %s\n", name.c_str(), dtype_name(t->dtype), shape_string(t->shape).c_str());
    return 0;
}

// --model PATH, loaded as the app loads it (a .phz for a GPU streams into its memory), or
// --synth PRESET [--quant f16|int8|int4] [--seed N]: random weights made in memory.
ModelOnBackend model_on_backend(const Args& a, const BackendOptions& o) {
    if (!a.has("synth")) return load_model_on_backend(a.get("model"), o);
    auto model = synthetic_model(synth_preset(a.get("synth")), uint64_t(a.get_int("seed", 1)), a.get("quant", "f16"));
    return {model, make_backend(model, o)};
}

// Logits of every position: one eval of all tokens, or one eval per token (the decode path).
std::vector<float> all_logits(Backend& b, const std::vector<int32_t>& tokens, bool stepwise) {
    std::vector<float> logits, step;
    if (!stepwise) b.eval(tokens, LogitsFor::All, logits);
    for (size_t t = 0; stepwise && t < tokens.size(); ++t) {
        b.eval(std::span(tokens).subspan(t, 1), LogitsFor::Last, step);
        logits.insert(logits.end(), step.begin(), step.end());
    }
    return logits;
}

int cmd_logits(const Args& a) {
    BackendOptions o = backend_options(a);
    auto [model, backend] = model_on_backend(a, o);
    const std::vector<int32_t> tokens = parse_id_list(a.get("tokens"));
    const int top = a.get_int("top", 5);
    const bool stepwise = a.has("one-at-a-time");
    const std::string against = a.get("against", "");
    const std::string against_graphs = a.get("against-gpu-graphs", o.gpu_graphs ? "on" : "off");
    a.reject_unknown();
    if (tokens.empty()) throw Error("--tokens is empty");
    if (top < 1) throw Error("--top must be at least 1");
    const std::vector<float> logits = all_logits(*backend, tokens, stepwise);
    const size_t V = size_t(model->config().vocab_size), k = std::min<size_t>(size_t(top), V);
    json out;
    if (!against.empty()) {   // the same tokens on a second backend, compared position by position
        o.backend = against;
        o.gpu_graphs = against_graphs == "on";
        // The second one loads the file into host memory: a streamed model is compared with an uploaded one.
        const auto host_model = model->weights_device() >= 0 ? Model::load(a.get("model")) : model;
        const std::vector<float> ref = all_logits(*make_backend(host_model, o), tokens, stepwise);
        double worst = 0;
        int top1_differ = 0;
        for (size_t t = 0; t < tokens.size(); ++t) {
            const float *x = logits.data() + t * V, *y = ref.data() + t * V;
            for (size_t i = 0; i < V; ++i) worst = std::max(worst, double(std::fabs(x[i] - y[i])));
            top1_differ += std::max_element(x, x + V) - x != std::max_element(y, y + V) - y;
        }
        out["against"] = against;
        out["max_abs_diff"] = worst;
        out["top1_positions_differing"] = top1_differ;
    }
    out["last_logits"] = std::vector<float>(logits.end() - std::ptrdiff_t(V), logits.end());
    json topk = json::array();
    std::vector<int> order(V);
    for (size_t t = 0; t < tokens.size(); ++t) {
        const float* row = logits.data() + t * V;
        for (size_t i = 0; i < V; ++i) order[i] = int(i);
        std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(k), order.end(),
                          [&](int x, int y) { return row[x] > row[y] || (row[x] == row[y] && x < y); });
        json pos = json::array();
        for (size_t i = 0; i < k; ++i) pos.push_back({order[i], row[order[i]]});
        topk.push_back(pos);
    }
    out["topk"] = topk;
    std::cout << out.dump() << "\n";
    return 0;
}

int cmd_verify(const Args& a) {
    const std::string golden = a.get("golden");
    const double tol = a.has("tolerance") ? std::stod(a.get("tolerance")) : 0.0;
    auto [model, backend] = load_model_on_backend(a.get("model"), backend_options(a));   // as the app loads
    a.reject_unknown();
    std::printf("backend %s\n", backend->description().c_str());
    const GoldenReport r = verify_golden(*backend, golden, tol);
    std::fputs(format_report(r).c_str(), stdout);
    return r.pass ? 0 : 1;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

constexpr int kDTypes = int(DType::Q4) + 1;

// What the machine can do at one moment: read bandwidth (GB/s), FMA peak (GFLOP/s), and each
// dtype's dot rate (GB/s of weights; 0 where not measured).
struct MachineLimits {
    double read_gbs, fma_gflops, dot_gbs[kDTypes];
};

// A child process, forked while this one is still single-threaded, that measures the machine's
// read bandwidth, FMA peak and dot rates (with the benchmark's kernel level) on request, so that
// its 1 GiB buffer never counts in the benchmark's peak RSS. One socket each way (close-on-exec;
// MSG_NOSIGNAL, so a dead probe is an error message, not a SIGPIPE).
class MachineProbe {
public:
    MachineProbe(int threads, const std::string& kernels) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw Error("socketpair failed");
        pid_ = fork();
        if (pid_ < 0) {
            close(sv[0]), close(sv[1]);
            throw Error("fork failed");
        }
        if (pid_ == 0) {
            close(sv[0]);
            char c;
            try {
                while (recv(sv[1], &c, 1, 0) == 1) {   // c: the dtypes whose dot to measure, bit i for DType i
                    MachineLimits m{measure_read_bandwidth(threads, size_t(1) << 30, 3), measure_fma_peak(threads, 3), {}};
                    for (int d = 0; d < kDTypes; ++d)
                        if (c >> d & 1) m.dot_gbs[d] = measure_dot_rate(threads, DType(d), 3, kernels);
                    if (send(sv[1], &m, sizeof m, MSG_NOSIGNAL) != ssize_t(sizeof m)) break;
                }
            } catch (const std::exception& e) {
                std::fprintf(stderr, "phidesk-cli: machine probe: %s\n", e.what());
            }
            _exit(0);
        }
        close(sv[1]);
        fd_ = sv[0];
    }
    MachineProbe(const MachineProbe&) = delete;
    MachineProbe& operator=(const MachineProbe&) = delete;
    ~MachineProbe() {
        close(fd_);   // the probe sees end of file and exits
        waitpid(pid_, nullptr, 0);
    }
    // The limits measured now, the dots' for the dtypes in `dot_dtypes` (bit i for DType i).
    MachineLimits measure(uint8_t dot_dtypes) {
        MachineLimits m{};
        if (send(fd_, &dot_dtypes, 1, MSG_NOSIGNAL) != 1 || recv(fd_, &m, sizeof m, MSG_WAITALL) != ssize_t(sizeof m))
            throw Error("the machine probe process failed");
        return m;
    }

private:
    pid_t pid_ = -1;
    int fd_ = -1;
};

// --threads, else the physical cores: what the CPU backend uses, and what the machine
// benchmarks measure with, so their figures compare.
int cpu_threads(const Args& a) {
    return a.get_int("threads", 0) > 0 ? a.get_int("threads", 0) : physical_core_count();
}

int cmd_bench(const Args& a) {
    const int prompt = a.get_int("prompt-tokens", 128), gen = a.get_int("gen-tokens", 64), runs = a.get_int("runs", 3);
    const int threads = cpu_threads(a);
    std::optional<MachineProbe> probe;   // CPU runs only: a GPU run is measured against its device
    if (a.get("backend", "cpu").rfind("cuda", 0) != 0) probe.emplace(threads, a.get("cpu-kernels", ""));
    const auto t0 = Clock::now();
    auto [model, backend] = model_on_backend(a, backend_options(a));
    const double load_s = seconds_since(t0);
    a.reject_unknown();
    if (prompt < 1 || gen < 1 || runs < 1) throw Error("--prompt-tokens, --gen-tokens and --runs must be positive");

    std::mt19937 rng(1234);
    std::uniform_int_distribution<int32_t> pick(0, std::min(model->config().vocab_size, 50256) - 1);
    std::vector<int32_t> tokens(static_cast<size_t>(prompt));
    for (int32_t& t : tokens) t = pick(rng);
    // The machine's own limits, measured right before each run (the machine may be shared and
    // noisy: a figure from another minute would make the ratios meaningless).
    const bool cpu = probe && backend->description().rfind("cpu", 0) == 0;
    // What one token costs: every matrix is read once (the embedding only one row) and each of
    // its weights takes one multiply-add. A prompt runs lm_head for its last token only.
    uint64_t streamed = 0, macs = 0;
    double dot_bytes[kDTypes] = {};   // what goes through each dtype's dot
    uint8_t dot_dtypes = 0;
    for (const auto& [name, t] : model->tensors()) {
        const bool embedding = t == &model->weights().embed;
        streamed += embedding ? t->nbytes() / uint64_t(t->rows()) : t->nbytes();
        if (t->shape.size() == 2 && !embedding) {
            macs += uint64_t(t->numel());
            dot_bytes[int(t->dtype)] += double(t->nbytes());
            dot_dtypes |= uint8_t(1u << int(t->dtype));
        }
    }
    std::vector<double> prefill, decode;
    std::vector<MachineLimits> limits;
    Sampler greedy{SamplerParams{}};
    for (int r = 0; r < runs; ++r) {
        if (cpu) limits.push_back(probe->measure(dot_dtypes));
        backend->truncate(0);
        auto t = Clock::now();
        int32_t next = backend->eval_and_pick(tokens, greedy, tokens);   // as generation does it
        prefill.push_back(prompt / seconds_since(t));
        t = Clock::now();
        for (int i = 0; i < gen; ++i) next = backend->eval_and_pick(std::span<const int32_t>(&next, 1), greedy, {});
        decode.push_back(gen / seconds_since(t));
    }
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    const double head_macs = double(model->weights().lm_head_w.numel());
    const double prompt_flops = 2.0 * (double(prompt) * (double(macs) - head_macs) + head_macs);
    json out = {{"model", model->path().string()},
                {"backend", backend->description()},
                {"prompt_tokens", prompt},
                {"gen_tokens", gen},
                {"runs", runs},
                {"load_seconds", load_s},
                {"prefill_tokens_per_second", median(prefill)},
                {"time_to_first_token_ms", 1000.0 * prompt / median(prefill)},   // the prompt's run and the pick
                {"decode_tokens_per_second", median(decode)},
                {"weight_bytes", model->weight_bytes()},
                {"bytes_streamed_per_token", streamed},
                {"decode_gb_per_second", median(decode) * double(streamed) / 1e9},
                {"prefill_gflops", median(prefill) / prompt * prompt_flops / 1e9},
                {"kv_cache_bytes", backend->kv_cache_bytes()},
                {"peak_rss_bytes", int64_t(ru.ru_maxrss) * 1024}};
    if (cpu) {   // each run against the limits measured just before it, then the median
        std::vector<double> read, peak, of_read, of_peak, bound, of_bound, dot[kDTypes];
        for (int r = 0; r < runs; ++r) {
            const MachineLimits& m = limits[size_t(r)];
            read.push_back(m.read_gbs), peak.push_back(m.fma_gflops);
            of_read.push_back(decode[size_t(r)] * double(streamed) / 1e9 / m.read_gbs);
            of_peak.push_back(prefill[size_t(r)] / prompt * prompt_flops / 1e9 / m.fma_gflops);
            // A token takes at least the time to read its weights, and at least the time its
            // dots take to compute with nothing waiting on memory.
            double compute_s = 0.0;
            for (int d = 0; d < kDTypes; ++d)
                if (dot_dtypes >> d & 1) compute_s += dot_bytes[d] / 1e9 / m.dot_gbs[d], dot[d].push_back(m.dot_gbs[d]);
            bound.push_back(1.0 / std::max(double(streamed) / 1e9 / m.read_gbs, compute_s));
            of_bound.push_back(decode[size_t(r)] / bound.back());
        }
        json dots = json::object();
        for (int d = 0; d < kDTypes; ++d)
            if (dot_dtypes >> d & 1) dots[dtype_name(DType(d))] = median(dot[d]);
        out["probe_threads"] = threads;
        out["read_gb_per_second"] = median(read);
        out["fma_gflops"] = median(peak);
        out["dot_gb_per_second"] = dots;
        out["decode_fraction_of_read"] = median(of_read);
        out["decode_bound_tokens_per_second"] = median(bound);
        out["decode_fraction_of_bound"] = median(of_bound);
        out["prefill_fraction_of_fma_peak"] = median(of_peak);
    }
    std::cout << out.dump(2) << "\n";
    return 0;
}

std::string read_all(std::istream& in) {
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int cmd_tokenize(const Args& a) {
    const Tokenizer tok = Tokenizer::load(a.get("tokenizer"));
    const SpecialText mode = a.has("special-as-text") ? SpecialText::AsText : SpecialText::Parse;
    std::string text;
    if (a.has("file")) {
        std::ifstream in(a.get("file"), std::ios::binary);
        if (!in) throw Error(a.get("file") + ": cannot open");
        text = read_all(in);
    } else {
        text = read_all(std::cin);
    }
    a.reject_unknown();
    std::cout << json(tok.encode(text, mode)).dump() << "\n";
    return 0;
}

int cmd_bench_tokenizer(const Args& a) {
    const auto t0 = Clock::now();
    const Tokenizer tok = Tokenizer::load(a.get("tokenizer"));
    const double load_s = seconds_since(t0);
    std::ifstream in(a.get("file"), std::ios::binary);
    if (!in) throw Error(a.get("file") + ": cannot open");
    const std::string text = read_all(in);
    const int runs = a.get_int("runs", 5);
    a.reject_unknown();
    if (runs < 1) throw Error("--runs must be positive");
    std::vector<double> enc, dec;
    std::vector<int32_t> ids;
    for (int r = 0; r < runs; ++r) {
        auto t = Clock::now();
        ids = tok.encode(text);
        enc.push_back(double(text.size()) / 1e6 / seconds_since(t));
        t = Clock::now();
        const std::string back = tok.decode(ids);
        dec.push_back(double(back.size()) / 1e6 / seconds_since(t));
    }
    json out = {{"file", a.get("file")}, {"bytes", text.size()}, {"tokens", ids.size()}, {"runs", runs},
                {"load_seconds", load_s}, {"encode_mb_per_second", median(enc)},
                {"encode_mb_per_second_first_run", enc.front()},   // before the piece cache is warm
                {"decode_mb_per_second", median(dec)}, {"threads", 1}};
    std::cout << out.dump(2) << "\n";
    return 0;
}

int cmd_detokenize(const Args& a) {
    const Tokenizer tok = Tokenizer::load(a.get("tokenizer"));
    const bool skip = a.has("skip-special");
    a.reject_unknown();
    int unknown = 0;
    std::cout << tok.decode(parse_id_list(read_all(std::cin)), skip, &unknown);
    if (unknown) std::fprintf(stderr, "phidesk-cli: %d id(s) have no token and were dropped\n", unknown);
    return 0;
}

int cmd_bench_memory(const Args& a) {
    const int threads = cpu_threads(a);
    const int mb = a.get_int("mb", 1024), runs = a.get_int("runs", 5);
    const std::string backend = a.get("backend", "cpu");
    a.reject_unknown();
    if (backend != "cpu") {   // cuda or cuda:N: the GPU's copy bandwidth
        std::cout << json{{"copy_gb_per_second", gpu_copy_bandwidth(backend, size_t(mb) << 20, runs)},
                          {"backend", backend}, {"buffer_mb", mb}, {"runs", runs}}.dump(2) << "\n";
        return 0;
    }
    const double gbs = measure_read_bandwidth(threads, size_t(mb) << 20, runs);
    std::cout << json{{"read_gb_per_second", gbs}, {"threads", threads}, {"buffer_mb", mb}, {"runs", runs},
                      {"kernels", best_cpu_kernels()}}.dump(2) << "\n";
    return 0;
}

int cmd_bench_flops(const Args& a) {
    const int threads = cpu_threads(a);
    const int runs = a.get_int("runs", 5);
    a.reject_unknown();
    std::cout << json{{"fma_gflops", measure_fma_peak(threads, runs)}, {"threads", threads}, {"runs", runs},
                      {"kernels", best_cpu_kernels()}}.dump(2) << "\n";
    return 0;
}

int cmd_bench_dot(const Args& a) {
    const int threads = cpu_threads(a);
    const int runs = a.get_int("runs", 5);
    const std::string name = a.get("dtype", "f16"), kernels = a.get("cpu-kernels", "");
    a.reject_unknown();
    const std::pair<const char*, DType> kNames[] = {
        {"f32", DType::F32}, {"f16", DType::F16}, {"bf16", DType::BF16}, {"int8", DType::Q8}, {"int4", DType::Q4}};
    const auto it = std::find_if(std::begin(kNames), std::end(kNames), [&](const auto& n) { return name == n.first; });
    if (it == std::end(kNames)) throw Error("--dtype must be f32, f16, bf16, int8 or int4, not '" + name + "'");
    std::cout << json{{"dot_gb_per_second", measure_dot_rate(threads, it->second, runs, kernels)}, {"dtype", name},
                      {"threads", threads}, {"runs", runs}, {"kernels", kernels.empty() ? best_cpu_kernels() : kernels}}.dump(2) << "\n";
    return 0;
}

int cmd_devices(const Args& a) {
    a.reject_unknown();
    std::string why;
    const std::vector<DeviceInfo> gpus = gpu_devices(why);
    std::string backends;
    for (const std::string& b : available_backends()) backends += (backends.empty() ? "" : ", ") + b;
    std::printf("backends: %s\n", backends.c_str());
    std::printf("cpu: %d logical CPUs, kernels %s\n", int(std::thread::hardware_concurrency()),
                best_cpu_kernels().c_str());
    if (gpus.empty()) std::printf("CUDA unusable: %s\n", why.c_str());
    for (const DeviceInfo& d : gpus)
        std::printf("%s: %s, %.1f GiB (%.1f GiB free), compute capability %d.%d\n", d.id.c_str(), d.name.c_str(),
                    double(d.total_bytes) / double(1 << 30), double(d.free_bytes) / double(1 << 30), d.major, d.minor);
    return 0;
}

int cmd_synth(const Args& a) {
    const std::string preset = a.get("preset"), out = a.get("out"), dtype = a.get("dtype", "f16");
    const int seed = a.get_int("seed", 1);
    a.reject_unknown();
    const ModelConfig c = synth_preset(preset);
    const auto t0 = Clock::now();
    write_synthetic_checkpoint(c, uint64_t(seed), dtype, out);
    std::printf("wrote %s: random %s weights (%s, seed %d) in %.1f s\n", out.c_str(), preset.c_str(), dtype.c_str(), seed,
                seconds_since(t0));
    return 0;
}

// Runs `fn` in a child process; returns its seconds and peak RSS (so measurements don't mix).
std::pair<double, int64_t> measure_in_child(const std::function<void()>& fn) {
    int fds[2];
    if (pipe(fds) != 0) throw Error("pipe failed");
    const pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        double s = -1;
        try {
            const auto t0 = Clock::now();
            fn();
            s = seconds_since(t0);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "phidesk-cli: error: %s\n", e.what());
        }
        (void)!write(fds[1], &s, sizeof s);
        _exit(s < 0 ? 1 : 0);
    }
    close(fds[1]);
    double s = -1;
    (void)!read(fds[0], &s, sizeof s);
    close(fds[0]);
    int status = 0;
    struct rusage ru {};
    wait4(pid, &status, 0, &ru);
    if (s < 0 || status != 0) throw Error("benchmark child failed");
    return {s, int64_t(ru.ru_maxrss) * 1024};
}

int cmd_bench_load(const Args& a) {
    namespace fs = std::filesystem;
    const fs::path hf = a.get("model"), phz = a.get("phz");
    const int runs = a.get_int("runs", 3);
    a.reject_unknown();
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(hf))
        if (e.path().extension() == ".safetensors") files.push_back(e.path());
    uint64_t st_bytes = 0;
    for (const fs::path& f : files) st_bytes += fs::file_size(f);
    // Reading the safetensors bytes into memory from the page cache (warmed by the first read),
    // as the .phz loader reads: pread into an untouched buffer, one range per thread.
    auto read_safetensors = [&] {
        for (const fs::path& f : files) {
            const size_t n = fs::file_size(f);
            auto buf = std::make_unique_for_overwrite<char[]>(n);
            const int fd = open(f.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) throw Error(f.string() + ": cannot open");
            const unsigned parts = std::max(1u, std::thread::hardware_concurrency());
            std::vector<std::thread> readers;
            for (unsigned p = 0; p < parts; ++p)
                readers.emplace_back([&, p] {
                    for (size_t done = n * p / parts, end = n * (p + 1) / parts; done < end;) {
                        const ssize_t r = pread(fd, buf.get() + done, std::min<size_t>(end - done, 64u << 20), off_t(done));
                        if (r <= 0) break;
                        done += size_t(r);
                    }
                });
            for (std::thread& t : readers) t.join();
            close(fd);
        }
    };
    auto load_phz = [&] { Model::load(phz); };
    measure_in_child(read_safetensors);
    measure_in_child(load_phz);   // warm the page cache for both
    std::vector<double> st_s, phz_s;
    int64_t st_rss = 0, phz_rss = 0;
    for (int r = 0; r < runs; ++r) {
        auto [s1, m1] = measure_in_child(read_safetensors);
        auto [s2, m2] = measure_in_child(load_phz);
        st_s.push_back(s1), phz_s.push_back(s2);
        st_rss = std::max(st_rss, m1), phz_rss = std::max(phz_rss, m2);
    }
    uint64_t weights = 0;
    for (const PhzTensorSummary& t : summarize_phz(phz).tensors) weights += t.raw_bytes;
    const double ratio = double(fs::file_size(phz)) / double(st_bytes);
    json out = {{"safetensors_bytes", st_bytes}, {"phz_bytes", fs::file_size(phz)}, {"compression_ratio", ratio},
                {"safetensors_read_seconds", median(st_s)}, {"phz_load_seconds", median(phz_s)},
                {"load_time_ratio", median(phz_s) / median(st_s)}, {"weight_bytes", weights},
                {"phz_load_peak_rss_bytes", phz_rss}, {"phz_peak_rss_over_weights", double(phz_rss) / double(weights)},
                {"safetensors_read_peak_rss_bytes", st_rss}, {"runs", runs}};
    std::cout << out.dump(2) << "\n";
    return 0;
}

int run(int argc, char** argv) {
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "help") {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const std::string cmd = argv[1];
    if (cmd == "--version") {
        std::printf("phidesk-cli %s\n", kPhideskVersion);
        return 0;
    }
    const Args a(argc, argv, 2, {"special-as-text", "skip-special", "verify", "json", "delete-originals", "one-at-a-time"});
    if (cmd == "info") return cmd_info(a);
    if (cmd == "convert") return cmd_convert(a);
    if (cmd == "download") return cmd_download(a);
    if (cmd == "synth") return cmd_synth(a);
    if (cmd == "devices") return cmd_devices(a);
    if (cmd == "bench-memory") return cmd_bench_memory(a);
    if (cmd == "bench-flops") return cmd_bench_flops(a);
    if (cmd == "bench-dot") return cmd_bench_dot(a);
    if (cmd == "generate") return cmd_generate(a);
    if (cmd == "chat") return cmd_chat(a);
    if (cmd == "summarize") return cmd_summarize(a);
    if (cmd == "bench-load") return cmd_bench_load(a);
    if (cmd == "logits") return cmd_logits(a);
    if (cmd == "verify") return cmd_verify(a);
    if (cmd == "bench") return cmd_bench(a);
    if (cmd == "tokenize") return cmd_tokenize(a);
    if (cmd == "detokenize") return cmd_detokenize(a);
    if (cmd == "bench-tokenizer") return cmd_bench_tokenizer(a);
    std::fprintf(stderr, "phidesk-cli: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
    return 2;
}

}  // namespace
}  // namespace phidesk::cli

int main(int argc, char** argv) {
    try {
        return phidesk::cli::run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "phidesk-cli: error: %s\n", e.what());
        return 1;
    }
}
