// Converting a Hugging Face checkpoint into one .phz file (engine/phz/FORMAT.md).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>

#include <zstd.h>

#include "cpu/thread_pool.h"
#include "json_file.h"
#include "phidesk/error.h"
#include "phidesk/model.h"
#include "phidesk/phz.h"
#include "phidesk/tokenizer.h"
#include "phidesk/version.h"
#include "phz_format.h"
#include "quantize.h"

namespace phidesk {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Payload {
    DType dtype;
    const uint8_t* data;            // the source bytes themselves, or `owned`
    size_t size;
    std::vector<uint8_t> owned;
};

bool is_matrix_weight(const std::string& name, const TensorView& t) {
    return t.shape.size() == 2 && name != "model.embed_tokens.weight";   // embeddings stay lossless
}

Payload payload_for(const std::string& name, const TensorView& t, const std::string& quant) {
    auto own = [](DType d, std::vector<uint8_t> bytes) {
        Payload p{d, nullptr, bytes.size(), std::move(bytes)};
        p.data = p.owned.data();
        return p;
    };
    if ((quant == "int8" || quant == "int4") && is_matrix_weight(name, t)) {
        const DType q = quant == "int8" ? DType::Q8 : DType::Q4;
        return own(q, quantize(q, t));
    }
    const DType target = quant == "f16" ? DType::F16 : quant == "bf16" ? DType::BF16 : t.dtype;
    if (target != t.dtype) return own(target, convert_float(target, t));
    return {t.dtype, static_cast<const uint8_t*>(t.data), t.nbytes(), {}};
}

// The tokenizer files of the folder, checked by building a tokenizer from them.
json tokenizer_files(const fs::path& dir) {
    const std::map<std::string, std::string> files = read_tokenizer_files(dir);
    if (files.empty()) return nullptr;
    Tokenizer::from_files(files, dir.string());   // a malformed tokenizer fails the conversion, not a later load
    return {{"files", files}};
}

class Compressor {
public:
    Compressor(int threads, int level, size_t chunk_bytes) : pool_(threads), chunk_(chunk_bytes) {
        for (int i = 0; i < pool_.size(); ++i) {
            ZSTD_CCtx* c = ZSTD_createCCtx();
            ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
            ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
            ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1);
            ctx_.emplace_back(c, &ZSTD_freeCCtx);
            plane_.emplace_back(chunk_);
        }
    }
    // Compresses `n` bytes as chunks of chunk_ bytes, in parallel; one frame per chunk.
    std::vector<std::vector<uint8_t>> chunks(const uint8_t* data, size_t n, bool byteplane) {
        const size_t count = (n + chunk_ - 1) / chunk_;
        std::vector<std::vector<uint8_t>> out(count);
        std::vector<std::string> errors(size_t(pool_.size()));
        pool_.parallel_for(int64_t(count), [&](int64_t begin, int64_t end, int t) {
            for (int64_t c = begin; c < end; ++c) {
                const size_t off = size_t(c) * chunk_, len = std::min<size_t>(chunk_, n - off);
                const uint8_t* src = data + off;
                if (byteplane) byteplane_split(src, plane_[size_t(t)].data(), len), src = plane_[size_t(t)].data();
                std::vector<uint8_t>& dst = out[size_t(c)];
                dst.resize(ZSTD_compressBound(len));
                const size_t r = ZSTD_compress2(ctx_[size_t(t)].get(), dst.data(), dst.size(), src, len);
                if (ZSTD_isError(r)) errors[size_t(t)] = ZSTD_getErrorName(r);
                else dst.resize(r);
            }
        });
        for (const std::string& e : errors)
            if (!e.empty()) throw Error(std::string("zstd: ") + e);
        return out;
    }
    // One frame of `text` (the header).
    std::vector<uint8_t> frame(const std::string& text) {
        std::vector<uint8_t> dst(ZSTD_compressBound(text.size()));
        const size_t r = ZSTD_compress2(ctx_[0].get(), dst.data(), dst.size(), text.data(), text.size());
        if (ZSTD_isError(r)) throw Error(std::string("zstd: ") + ZSTD_getErrorName(r));
        dst.resize(r);
        return dst;
    }

private:
    ThreadPool pool_;
    size_t chunk_;
    std::vector<std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)>> ctx_;
    std::vector<std::vector<uint8_t>> plane_;
};

void put_le(std::string& s, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) s += char((v >> (8 * i)) & 0xff);
}

void write_phz(const fs::path& in, const fs::path& tmp, const ConvertOptions& o) {
    const auto start = std::chrono::steady_clock::now();
    const auto model = Model::load(in);
    if (o.chunk_bytes < 4096 || o.chunk_bytes > (64u << 20) || o.chunk_bytes % 2)
        throw Error("chunk size " + std::to_string(o.chunk_bytes) + ": must be even, 4 KiB to 64 MiB");
    json header = {{"format", "phz"}, {"version", kPhzVersion}, {"chunk_bytes", o.chunk_bytes}};
    header["config"] = read_json_file(in / "config.json", "model config");
    header["generation_config"] =
        fs::exists(in / "generation_config.json") ? read_json_file(in / "generation_config.json", "generation config") : json();
    header["tokenizer"] = tokenizer_files(in);
    header["provenance"] = {{"source", fs::absolute(in).string()},
                            {"converter", std::string("phidesk ") + kPhideskVersion},
                            {"quantization", o.quant},
                            {"zstd_level", o.level}};

    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(tmp.string() + ": cannot create");
    out << std::string(kPhzPreambleBytes, '\0');
    uint64_t pos = kPhzPreambleBytes, done = 0;
    const uint64_t total = model->weight_bytes();
    Compressor zc(o.threads > 0 ? o.threads : int(std::thread::hardware_concurrency()), o.level, size_t(o.chunk_bytes));
    json tensors = json::array();
    for (const auto& [name, t] : model->tensors()) {
        if (o.cancel && o.cancel->load()) throw Error("conversion cancelled");
        const Payload p = payload_for(name, *t, o.quant);
        const bool byteplane = dtype_size(p.dtype) == 2 && !is_quantized(p.dtype);
        json chunks = json::array();
        for (const std::vector<uint8_t>& c : zc.chunks(p.data, p.size, byteplane)) {
            out.write(reinterpret_cast<const char*>(c.data()), std::streamsize(c.size()));
            chunks.push_back({pos, c.size()});
            pos += c.size();
        }
        if (!out) throw Error(tmp.string() + ": write failed (disk full?)");
        tensors.push_back({{"name", name}, {"dtype", dtype_name(p.dtype)}, {"shape", t->shape},
                           {"transform", byteplane ? "byteplane" : "none"}, {"raw_bytes", p.size}, {"chunks", chunks}});
        done += t->nbytes();
        if (o.on_progress)
            o.on_progress({name, done, total, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
    }
    header["tensors"] = tensors;
    const std::vector<uint8_t> hframe = zc.frame(header.dump());
    out.write(reinterpret_cast<const char*>(hframe.data()), std::streamsize(hframe.size()));
    std::string pre(reinterpret_cast<const char*>(kPhzMagic), 8);
    put_le(pre, kPhzVersion, 4);
    put_le(pre, 0, 4);
    put_le(pre, pos, 8);
    put_le(pre, hframe.size(), 8);
    out.seekp(0);
    out.write(pre.data(), std::streamsize(pre.size()));
    out.flush();
    if (!out) throw Error(tmp.string() + ": write failed (disk full?)");
}

}  // namespace

void convert_to_phz(const fs::path& in, const fs::path& out, const ConvertOptions& o) {
    static const char* kModes[] = {"keep", "f16", "bf16", "int8", "int4"};
    if (std::find(std::begin(kModes), std::end(kModes), o.quant) == std::end(kModes))
        throw Error("unknown --quant '" + o.quant + "' (keep, f16, bf16, int8, int4)");
    if (o.level < 1 || o.level > ZSTD_maxCLevel()) throw Error("zstd level must be 1.." + std::to_string(ZSTD_maxCLevel()));
    if (!fs::is_directory(in)) throw Error(in.string() + ": not a Hugging Face checkpoint folder");
    const fs::path tmp = out.string() + ".partial";
    try {
        write_phz(in, tmp, o);
        fs::rename(tmp, out);
    } catch (...) {
        std::error_code ec;
        fs::remove(tmp, ec);
        throw;
    }
}

}  // namespace phidesk
