// Getting a model: `download` from a Hugging Face hub and `convert` to .phz, with one progress
// bar and Ctrl-C handling for both.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli_commands.h"
#include "phidesk/error.h"
#include "phidesk/phz.h"
#ifdef PHIDESK_WITH_HUB
#include "phidesk/hub.h"
#endif

namespace phidesk::cli {
namespace {

std::atomic<bool> g_cancel{false};

void cancel_on_signals() {
    std::signal(SIGINT, [](int) { g_cancel = true; });
    std::signal(SIGTERM, [](int) { g_cancel = true; });
}

// A live bar on a terminal; otherwise one line per tenth, so logs stay short.
class ProgressBar {
public:
    void show(double done_mb, double total_mb, double mb_per_s, const std::string& label) {
        const double frac = total_mb > 0 ? std::min(1.0, done_mb / total_mb) : 1;
        const int tenth = int(frac * 10);
        if (!tty_ && tenth == last_tenth_) return;
        last_tenth_ = tenth;
        const double eta = mb_per_s > 0 ? (total_mb - done_mb) / mb_per_s : 0;
        const int width = 30, filled = int(width * frac);
        std::fprintf(stderr, "%s[%s%s] %8.1f / %.1f MB  %6.1f MB/s  ETA %5.0f s  %-40.40s%s", tty_ ? "\r" : "",
                     std::string(size_t(filled), '#').c_str(), std::string(size_t(width - filled), ' ').c_str(), done_mb,
                     total_mb, mb_per_s, eta, label.c_str(), tty_ ? "" : "\n");
    }
    void finish() {
        if (tty_) std::fprintf(stderr, "\n");
        last_tenth_ = -1;
    }

private:
    bool tty_ = isatty(STDERR_FILENO);
    int last_tenth_ = -1;
};

void convert(const std::filesystem::path& in, const std::filesystem::path& out, const std::string& quant, int level,
             int threads) {
    ConvertOptions o;
    o.quant = quant;
    o.level = level;
    o.threads = threads;
    o.cancel = &g_cancel;
    ProgressBar bar;
    o.on_progress = [&bar](const ConvertProgress& p) {
        const double mb = double(p.bytes_done) / 1e6;
        bar.show(mb, double(p.bytes_total) / 1e6, mb / std::max(p.seconds, 1e-9), p.tensor);
    };
    convert_to_phz(in, out, o);
    bar.finish();
    const PhzSummary s = summarize_phz(out);
    uint64_t raw = 0, packed = 0;
    for (const PhzTensorSummary& t : s.tensors) raw += t.raw_bytes, packed += t.compressed_bytes;
    std::printf("wrote %s: %zu tensors, %llu -> %llu bytes (ratio %.4f)\n", out.c_str(), s.tensors.size(),
                (unsigned long long)raw, (unsigned long long)packed, double(packed) / double(raw));
}

}  // namespace

int cmd_convert(const Args& a) {
    const std::string in = a.get("in"), out = a.get("out"), quant = a.get("quant", "keep");
    const int level = a.get_int("level", 3), threads = a.get_int("threads", 0);
    a.reject_unknown();
    cancel_on_signals();
    convert(in, out, quant, level, threads);
    return 0;
}

int cmd_download(const Args& a) {
#ifdef PHIDESK_WITH_HUB
    ModelDownload d;
    d.repo = a.get("repo");
    d.folder = a.get("out");
    d.phz = a.get("convert", "");
    d.quant = a.get("quant", "keep");
    d.delete_originals = a.has("delete-originals");
    HubOptions o;
    o.base_url = a.get("hub", default_hub_url());
    o.revision = a.get("revision", "main");
    o.cancel = &g_cancel;
    if (const char* token = std::getenv("HF_TOKEN")) o.token = token;
    a.reject_unknown();
    if (d.delete_originals && d.phz.empty()) throw Error("--delete-originals needs --convert FILE.phz");
    cancel_on_signals();

    std::fprintf(stderr, "%s from %s into %s\n", d.repo.c_str(), o.base_url.c_str(), d.folder.c_str());
    ProgressBar bar;
    bool converting = false;
    download_model(d, o, [&bar](const DownloadProgress& p) {
        const std::string label = (p.verifying ? "checking " : "") + p.file + " (" + std::to_string(p.file_index + 1) +
                                  "/" + std::to_string(p.file_count) + ")";
        bar.show(double(p.done) / 1e6, double(p.total) / 1e6, p.bytes_per_second / 1e6, label);
        return true;
    }, [&](const ConvertProgress& p) {
        if (!converting) {
            bar.finish();
            std::fprintf(stderr, "converting to %s\n", d.phz.c_str());
            converting = true;
        }
        const double mb = double(p.bytes_done) / 1e6;
        bar.show(mb, double(p.bytes_total) / 1e6, mb / std::max(p.seconds, 1e-9), p.tensor);
    });
    bar.finish();
    std::printf("downloaded %s into %s (sizes and SHA-256 checked)\n", d.repo.c_str(), d.folder.c_str());
    if (!d.phz.empty()) std::printf("wrote %s\n", d.phz.c_str());
    if (d.delete_originals) std::printf("deleted the downloaded files in %s\n", d.folder.c_str());
    return 0;
#else
    (void)a;
    throw Error("this phidesk-cli was built without model downloads (PHIDESK_HUB=OFF)");
#endif
}

}  // namespace phidesk::cli
