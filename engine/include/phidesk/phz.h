// Converting Hugging Face checkpoints to the single-file .phz format (engine/phz/FORMAT.md),
// and summaries of .phz files. Loading goes through Model::load like any model path.
#pragma once
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace phidesk {

struct ConvertProgress {
    std::string tensor;          // the tensor just written
    uint64_t bytes_done = 0;     // source bytes processed so far
    uint64_t bytes_total = 0;
    double seconds = 0;
};

struct ConvertOptions {
    std::string quant = "keep";  // keep (lossless, stored dtype), f16, bf16, int8, int4
    int level = 3;               // zstd level
    int threads = 0;             // 0: all logical CPUs
    uint64_t chunk_bytes = 2u << 20;   // raw bytes per compressed chunk: even, 4 KiB to 64 MiB
    std::function<void(const ConvertProgress&)> on_progress;
    const std::atomic<bool>* cancel = nullptr;   // set from another thread or a signal handler
};

// Writes `out` via `out.partial` + rename: an error or cancellation leaves no file behind.
void convert_to_phz(const std::filesystem::path& hf_dir, const std::filesystem::path& out, const ConvertOptions& o);

struct PhzTensorSummary {
    std::string name, dtype;
    std::vector<int64_t> shape;
    uint64_t raw_bytes = 0, compressed_bytes = 0;
};
struct PhzSummary {
    std::string header_json;     // the header without the tokenizer text
    std::vector<PhzTensorSummary> tensors;
};
PhzSummary summarize_phz(const std::filesystem::path& path);
bool is_phz(const std::filesystem::path& path);

}  // namespace phidesk
