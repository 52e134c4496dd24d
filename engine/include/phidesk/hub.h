// Downloading model repositories from a Hugging Face hub, or any server with its URL layout:
//   GET {base}/api/models/{repo}/tree/{revision}?recursive=true   the file list (JSON)
//   GET {base}/{repo}/resolve/{revision}/{path}                    a file (may redirect)
// Downloads go to NAME.partial, resume with HTTP Range after an interruption (within a run and
// across runs), and are checked against the sizes and LFS SHA-256 digests the hub lists.
#pragma once
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "phidesk/error.h"

namespace phidesk {

struct HubFile {
    std::string path;     // inside the repository, '/'-separated
    uint64_t size = 0;
    std::string sha256;   // lowercase hex for LFS files; empty when the hub lists none
};

struct HubOptions {
    std::string base_url = "https://huggingface.co";
    std::string revision = "main";
    std::string token;      // sent as a Bearer token to the hub (gated or private repositories)
    int attempts = 5;       // per file; each attempt resumes where the last one stopped
    int stall_seconds = 60; // an attempt that receives nothing for this long is abandoned
    const std::atomic<bool>* cancel = nullptr;   // set from another thread: stops any request or wait
};

struct DownloadProgress {
    std::string file;            // the file in progress ("" when only listing)
    int file_index = 0, file_count = 0;
    uint64_t done = 0, total = 0;     // bytes of all selected files, already present included
    double bytes_per_second = 0;      // of the current transfer
    bool verifying = false;           // computing the SHA-256 of `file`
};
// Return false to cancel; the .partial file is kept for the next run.
using DownloadCallback = std::function<bool(const DownloadProgress&)>;

class DownloadCancelled : public Error {
public:
    using Error::Error;
};

// The hub's base URL: $PHIDESK_HUB_URL when set, else huggingface.co.
std::string default_hub_url();

// Every file of the repository at the revision (Error naming the repository when the hub refuses).
std::vector<HubFile> hub_list_files(const std::string& repo, const HubOptions& o);

// The files PhiDesk needs from a model repository: safetensors weights, JSON (config, index,
// tokenizer), merges.txt, README/LICENSE. Error when the repository has no safetensors weights.
std::vector<HubFile> model_files(const std::string& repo, const std::vector<HubFile>& all);

// Downloads `files` of `repo` into `out` (created), skipping files already complete and checked.
void hub_download(const std::string& repo, const std::vector<HubFile>& files, const std::filesystem::path& out,
                  const HubOptions& o, const DownloadCallback& progress);

// The whole way to a model: list the repository, download model_files() into `folder`, then
// (when `phz` is set) convert to it and, when asked, delete the downloaded files. Returns `phz`.
// DownloadCancelled when o.cancel is set during the download or the conversion.
struct ModelDownload {
    std::string repo;
    std::filesystem::path folder, phz;
    std::string quant = "keep";
    bool delete_originals = false;
};
struct ConvertProgress;
std::filesystem::path download_model(const ModelDownload& d, const HubOptions& o, const DownloadCallback& progress,
                                     const std::function<void(const ConvertProgress&)>& converting);

}  // namespace phidesk
