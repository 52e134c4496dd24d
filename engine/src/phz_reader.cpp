// Reading .phz files: a bounded, checksummed header first, then every chunk decompressed in
// parallel straight into the model's memory (pread, not mmap: the compressed file is not kept
// resident next to the decompressed weights).
#include "phz_reader.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unistd.h>

#include <zstd.h>

#include "json_file.h"
#include "model_build.h"
#include "quantize.h"
#include "weight_memory.h"
#include "weight_stream.h"
#include "phidesk/error.h"
#include "phidesk/phz.h"

namespace phidesk {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

class File {
public:
    explicit File(const fs::path& p) : path_(p.string()), fd_(::open(p.c_str(), O_RDONLY | O_CLOEXEC)) {
        if (fd_ < 0) throw Error(path_ + ": cannot open (" + std::strerror(errno) + ")");
        size_ = uint64_t(::lseek(fd_, 0, SEEK_END));
    }
    ~File() { ::close(fd_); }
    File(const File&) = delete;
    File& operator=(const File&) = delete;
    uint64_t size() const { return size_; }
    const std::string& path() const { return path_; }
    void read(uint64_t offset, void* dst, size_t n) const {
        auto* p = static_cast<uint8_t*>(dst);
        while (n > 0) {
            const ssize_t r = ::pread(fd_, p, n, off_t(offset));
            if (r <= 0) throw Error(path_ + ": read failed at byte " + std::to_string(offset) + " (truncated?)");
            p += r, offset += uint64_t(r), n -= size_t(r);
        }
    }

private:
    std::string path_;
    int fd_;
    uint64_t size_ = 0;
};

uint64_t le64(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

// Decompresses one frame of exactly `expected` bytes, insisting on a content checksum.
void decompress_frame(ZSTD_DCtx* dctx, const std::vector<uint8_t>& src, uint8_t* dst, size_t expected,
                      const std::string& what) {
    // Frame magic, then the frame header descriptor whose bit 2 is Content_Checksum_flag (RFC 8878).
    static constexpr uint8_t kFrameMagic[4] = {0x28, 0xB5, 0x2F, 0xFD};
    if (src.size() < 6 || std::memcmp(src.data(), kFrameMagic, 4) != 0) throw Error(what + ": damaged (not a zstd frame)");
    if (!(src[4] & 0x04) || ZSTD_getFrameContentSize(src.data(), src.size()) != expected)
        throw Error(what + ": damaged (frame without checksum, or of the wrong size)");
    const size_t n = ZSTD_decompressDCtx(dctx, dst, expected, src.data(), src.size());
    if (ZSTD_isError(n)) throw Error(what + ": damaged (" + ZSTD_getErrorName(n) + ")");
    if (n != expected) throw Error(what + ": damaged (decompressed to the wrong size)");
}

PhzTensor parse_tensor(const json& t, const PhzHeader& h, uint64_t data_end, const std::string& src) {
    PhzTensor out;
    out.name = t.at("name").get<std::string>();
    const std::string where = src + ": tensor " + out.name;
    out.dtype = phz_dtype(t.at("dtype").get<std::string>(), where);
    out.shape = t.at("shape").get<std::vector<int64_t>>();
    if (out.shape.empty() || out.shape.size() > 2) throw Error(where + ": shape must have 1 or 2 dimensions");
    for (int64_t d : out.shape)
        if (d <= 0 || d > (int64_t(1) << 31)) throw Error(where + ": impossible shape " + shape_string(out.shape));
    out.byteplane = t.at("transform").get<std::string>() == "byteplane";
    out.raw_bytes = t.at("raw_bytes").get<uint64_t>();
    TensorView v{out.name, out.dtype, out.shape, nullptr, nullptr};
    if (out.dtype == DType::Q4 && v.cols() % kQ4Group) throw Error(where + ": Q4 rows must be whole groups");
    if (is_quantized(out.dtype) && out.shape.size() != 2) throw Error(where + ": only matrices can be quantized");
    if (out.raw_bytes != v.nbytes())
        throw Error(where + ": raw_bytes " + std::to_string(out.raw_bytes) + " does not match " + dtype_name(out.dtype) +
                    " " + shape_string(out.shape));
    if (out.byteplane && dtype_size(out.dtype) != 2) throw Error(where + ": byteplane needs a 16-bit dtype");
    const json& chunks = t.at("chunks");
    if (chunks.size() != (out.raw_bytes + h.chunk_bytes - 1) / h.chunk_bytes)
        throw Error(where + ": " + std::to_string(chunks.size()) + " chunks do not hold " + std::to_string(out.raw_bytes) + " bytes");
    for (const json& c : chunks) {
        const PhzChunk k{c.at(0).get<uint64_t>(), c.at(1).get<uint64_t>()};
        if (k.offset < kPhzPreambleBytes || k.size == 0 || k.size > ZSTD_compressBound(h.chunk_bytes) ||
            k.offset > data_end || k.size > data_end - k.offset)
            throw Error(where + ": chunk at " + std::to_string(k.offset) + " lies outside the data area");
        out.chunks.push_back(k);
    }
    return out;
}

}  // namespace

uint64_t PhzTensor::compressed_bytes() const {
    uint64_t n = 0;
    for (const PhzChunk& c : chunks) n += c.size;
    return n;
}

bool is_phz_file(const fs::path& path) {
    if (!fs::is_regular_file(path)) return false;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    uint8_t m[8] = {};
    const bool ok = std::fread(m, 1, 8, f) == 8 && std::memcmp(m, kPhzMagic, 8) == 0;
    std::fclose(f);
    return ok || path.extension() == ".phz";   // a damaged .phz still goes to this reader, for its error
}

PhzHeader read_phz_header(const fs::path& path) {
    const File f(path);
    const std::string& src = f.path();
    if (f.size() < kPhzPreambleBytes) throw Error(src + ": too short for a .phz file (truncated?)");
    uint8_t pre[kPhzPreambleBytes];
    f.read(0, pre, sizeof pre);
    if (std::memcmp(pre, kPhzMagic, 8) != 0) throw Error(src + ": not a .phz file (wrong magic)");
    const uint32_t version = uint32_t(le64(pre + 8) & 0xffffffffu), flags = uint32_t(le64(pre + 8) >> 32);
    if (version > kPhzVersion)
        throw Error(src + ": .phz format version " + std::to_string(version) + " was made by a newer PhiDesk (this one reads version " +
                    std::to_string(kPhzVersion) + ")");
    if (version != kPhzVersion) throw Error(src + ": invalid .phz format version " + std::to_string(version));
    if (flags != 0) throw Error(src + ": unknown .phz flags " + std::to_string(flags));
    const uint64_t hoff = le64(pre + 16), hsize = le64(pre + 24);
    if (hoff < kPhzPreambleBytes || hsize == 0 || hsize > kPhzMaxHeaderBytes || hoff > f.size() || hsize > f.size() - hoff)
        throw Error(src + ": header position [" + std::to_string(hoff) + ", +" + std::to_string(hsize) +
                    ") lies outside the file of " + std::to_string(f.size()) + " bytes (truncated or unfinished?)");

    std::vector<uint8_t> frame(hsize);
    f.read(hoff, frame.data(), frame.size());
    const unsigned long long raw = ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN || raw > 4 * kPhzMaxHeaderBytes)
        throw Error(src + ": header is damaged");
    std::string text(raw, '\0');
    std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
    decompress_frame(dctx.get(), frame, reinterpret_cast<uint8_t*>(text.data()), text.size(), src + ": header");

    PhzHeader h;
    h.json = parse_json_text(text, src + " (header)");
    try {
        if (h.json.at("format") != "phz" || h.json.at("version") != kPhzVersion) throw Error(src + ": header is not a phz v1 header");
        if (!h.json.at("config").is_object()) throw Error(src + ": header has no model config");
        const json& tok = h.json.value("tokenizer", json());
        if (!tok.is_null() && !(tok.is_object() && tok.contains("files") && tok["files"].is_object()))
            throw Error(src + ": header's tokenizer entry is malformed");
        if (tok.is_object())
            for (const auto& [name, text] : tok["files"].items())
                if (!text.is_string()) throw Error(src + ": tokenizer file " + name + " is not text");
        h.chunk_bytes = h.json.at("chunk_bytes").get<uint64_t>();
        if (h.chunk_bytes < 4096 || h.chunk_bytes > (64u << 20) || h.chunk_bytes % 2)
            throw Error(src + ": chunk_bytes " + std::to_string(h.chunk_bytes) + " out of range");
        std::set<std::string> names;
        std::vector<std::pair<PhzChunk, const std::string*>> all;
        for (const json& t : h.json.at("tensors")) {
            h.tensors.push_back(parse_tensor(t, h, hoff, src));
            if (!names.insert(h.tensors.back().name).second) throw Error(src + ": tensor " + h.tensors.back().name + " appears twice");
        }
        for (const PhzTensor& t : h.tensors)
            for (const PhzChunk& c : t.chunks) all.emplace_back(c, &t.name);
        std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first.offset < b.first.offset; });
        for (size_t i = 1; i < all.size(); ++i)   // frames never share bytes (bounds the declared sizes too)
            if (all[i].first.offset < all[i - 1].first.offset + all[i - 1].first.size)
                throw Error(src + ": chunks of tensors " + *all[i - 1].second + " and " + *all[i].second + " overlap");
    } catch (const json::exception& e) {
        throw Error(src + ": malformed header (" + e.what() + ")");
    }
    return h;
}

namespace {

// Decompresses every chunk of `h` (checksums verified) on `threads` threads: chunk c of tensor t
// into where(thread, t, c), then done(thread, t, c, data, bytes). The first error stops the others
// and is rethrown; `progress` gets the fraction of raw bytes done, each percent once.
template <class Where, class Done>
void decompress_chunks(const File& f, const PhzHeader& h, int threads, const Model::LoadProgress& progress, Where where,
                       Done done) {
    struct Job { size_t tensor, chunk; };
    std::vector<Job> jobs;
    for (size_t i = 0; i < h.tensors.size(); ++i)
        for (size_t c = 0; c < h.tensors[i].chunks.size(); ++c) jobs.push_back({i, c});

    std::atomic<size_t> next{0};
    std::mutex error_mutex;
    std::string error;
    std::mutex progress_mutex;   // progress: one call at a time, each percent once
    size_t finished = 0, raw_total = 0;
    for (const PhzTensor& t : h.tensors) raw_total += t.raw_bytes;
    int reported = -1;
    auto report = [&](size_t bytes) {
        if (!progress) return;
        std::lock_guard<std::mutex> lock(progress_mutex);
        finished += bytes;
        const int percent = raw_total ? int(100 * finished / raw_total) : 100;
        if (percent > reported) progress(double(percent) / 100), reported = percent;
    };
    auto work = [&](int thread) {
        std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
        std::vector<uint8_t> frame, plane(h.chunk_bytes);
        for (size_t j; (j = next.fetch_add(1)) < jobs.size();) {
            const PhzTensor& t = h.tensors[jobs[j].tensor];
            const size_t c = jobs[j].chunk;
            const size_t raw = size_t(std::min<uint64_t>(h.chunk_bytes, t.raw_bytes - c * h.chunk_bytes));
            try {
                uint8_t* dst = where(thread, jobs[j].tensor, c);
                frame.resize(t.chunks[c].size);
                f.read(t.chunks[c].offset, frame.data(), frame.size());
                const std::string what = f.path() + ": tensor " + t.name + " chunk " + std::to_string(c);
                decompress_frame(dctx.get(), frame, t.byteplane ? plane.data() : dst, raw, what);
                if (t.byteplane) byteplane_join(plane.data(), dst, raw);
                done(thread, jobs[j].tensor, c, dst, raw);
                report(raw);
            } catch (const std::exception& e) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (error.empty()) error = e.what();
                next = jobs.size();   // stop the others early
            }
        }
    };
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i) pool.emplace_back(work, i);
    work(0);
    for (std::thread& t : pool) t.join();
    if (!error.empty()) throw Error(error);
    if (progress && reported < 100) progress(1.0);   // a model without tensor data
}

// The model's tensors at `offsets` from `base`, as dtypes `dtypes` (quantized payloads: scales
// first, then values).
std::map<std::string, TensorView> views_at(const PhzHeader& h, const uint8_t* base, const std::vector<uint64_t>& offsets,
                                           const std::vector<DType>& dtypes) {
    std::map<std::string, TensorView> tensors;
    for (size_t i = 0; i < h.tensors.size(); ++i) {
        const PhzTensor& t = h.tensors[i];
        TensorView v{t.name, dtypes[i], t.shape, base + offsets[i], nullptr};
        if (is_quantized(v.dtype)) {
            v.scales = reinterpret_cast<const uint16_t*>(base + offsets[i]);
            v.data = base + offsets[i] + 2 * scale_count(v.dtype, v.rows(), v.cols());
        }
        tensors.emplace(t.name, v);
    }
    return tensors;
}

int loader_threads(int threads) { return std::max(1, threads > 0 ? threads : int(std::thread::hardware_concurrency())); }

}  // namespace

std::shared_ptr<const Model> load_phz_model(const fs::path& path, int threads, const Model::LoadProgress& progress) {
    const PhzHeader h = read_phz_header(path);
    const ModelConfig config = parse_config(h.json.at("config"), path.string() + " (config)");
    const File f(path);

    // One allocation for all tensors, each 64-byte aligned, chunks decompressed straight into it.
    std::vector<uint64_t> offset(h.tensors.size());
    std::vector<DType> dtypes;
    uint64_t total = 0;
    for (size_t i = 0; i < h.tensors.size(); ++i) {
        offset[i] = total, total += (h.tensors[i].raw_bytes + 63) / 64 * 64;
        dtypes.push_back(h.tensors[i].dtype);
    }
    const std::shared_ptr<uint8_t> mem = allocate_weight_memory(size_t(total), f.path());
    decompress_chunks(
        f, h, loader_threads(threads), progress,
        [&](int, size_t t, size_t c) { return mem.get() + offset[t] + c * h.chunk_bytes; },
        [](int, size_t, size_t, const uint8_t*, size_t) {});
    return make_model(config, views_at(h, mem.get(), offset, dtypes), path.string(), path, mem);
}

DType kept_dtype(DType stored, size_t dims) {
    return is_quantized(stored) ? stored : dims == 2 ? DType::F16 : DType::F32;
}

std::shared_ptr<const Model> load_phz_model_into(const fs::path& path, ChunkDestination& dest, int threads,
                                                 const Model::LoadProgress& progress) {
    const PhzHeader h = read_phz_header(path);
    const ModelConfig config = parse_config(h.json.at("config"), path.string() + " (config)");
    const File f(path);
    const int n = loader_threads(threads);

    // The destination's layout: each tensor in the dtype it keeps, 256-byte aligned.
    std::vector<uint64_t> offset(h.tensors.size());
    std::vector<DType> kept;
    uint64_t total = 0;
    for (size_t i = 0; i < h.tensors.size(); ++i) {
        const PhzTensor& t = h.tensors[i];
        kept.push_back(kept_dtype(t.dtype, t.shape.size()));
        if (kept[i] != t.dtype && h.chunk_bytes % dtype_size(t.dtype))
            throw Error(f.path() + ": chunks of " + std::to_string(h.chunk_bytes) + " bytes split the elements of " + t.name);
        offset[i] = total, total += (TensorView{t.name, kept[i], t.shape}.nbytes() + 255) / 256 * 256;
    }
    const std::shared_ptr<const void> memory = dest.allocate(total, n, size_t(h.chunk_bytes) * 2);
    const auto* base = static_cast<const uint8_t*>(memory.get());
    std::vector<std::vector<uint8_t>> raw(static_cast<size_t>(n), std::vector<uint8_t>(h.chunk_bytes));
    decompress_chunks(
        f, h, n, progress, [&](int thread, size_t, size_t) { return raw[size_t(thread)].data(); },
        [&](int thread, size_t t, size_t c, const uint8_t* data, size_t bytes) {
            const PhzTensor& stored = h.tensors[t];
            if (stored.dtype == kept[t]) return dest.put(thread, data, bytes, offset[t] + c * h.chunk_bytes);
            const size_t size = dtype_size(stored.dtype);   // the chunk holds whole elements (checked above)
            const std::vector<uint8_t> out =
                convert_float(kept[t], TensorView{stored.name, stored.dtype, {int64_t(bytes / size)}, data});
            dest.put(thread, out.data(), out.size(), offset[t] + c * h.chunk_bytes / size * dtype_size(kept[t]));
        });
    dest.finish();
    return make_model(config, views_at(h, base, offset, kept), path.string(), path, memory, dest.device());
}

bool is_phz(const fs::path& path) { return is_phz_file(path); }

PhzSummary summarize_phz(const fs::path& path) {
    const PhzHeader h = read_phz_header(path);
    PhzSummary s;
    json brief = h.json;
    brief.erase("tensors");
    if (brief.contains("tokenizer") && brief["tokenizer"].is_object() && brief["tokenizer"].contains("files")) {
        json files = json::array();
        for (const auto& [name, text] : brief["tokenizer"]["files"].items()) files.push_back(name);
        brief["tokenizer"] = {{"files", files}};
    }
    s.header_json = brief.dump(2);
    for (const PhzTensor& t : h.tensors)
        s.tensors.push_back({t.name, dtype_name(t.dtype), t.shape, t.raw_bytes, t.compressed_bytes()});
    return s;
}

DType phz_dtype(const std::string& name, const std::string& where) {
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8, DType::Q4})
        if (name == dtype_name(t)) return t;
    throw Error(where + ": unknown dtype '" + name + "'");
}

void byteplane_split(const uint8_t* src, uint8_t* dst, size_t n) {
    const size_t half = n / 2;
    for (size_t i = 0; i < half; ++i) dst[i] = src[2 * i], dst[half + i] = src[2 * i + 1];
}

void byteplane_join(const uint8_t* src, uint8_t* dst, size_t n) {
    const size_t half = n / 2;
    for (size_t i = 0; i < half; ++i) dst[2 * i] = src[i], dst[2 * i + 1] = src[half + i];
}

}  // namespace phidesk
