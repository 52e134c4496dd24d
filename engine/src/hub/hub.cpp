#include "phidesk/hub.h"

#include <curl/curl.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "phidesk/phz.h"
#include "sha256.h"

namespace phidesk {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

void init_curl() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Percent-encodes everything but unreserved characters (and '/' when keep_slash).
std::string url_encode(const std::string& s, bool keep_slash) {
    std::string out;
    char hex[4];
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
            out += char(c);
        } else {
            std::snprintf(hex, sizeof hex, "%%%02X", c);
            out += hex;
        }
    }
    return out;
}

std::string trim_slash(std::string s) {
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

// A file name from the hub is used as a path below `out`: it must stay there.
void check_safe_path(const std::string& repo, const std::string& path) {
    bool ok = !path.empty() && path.front() != '/' && path.find('\\') == std::string::npos;
    for (size_t start = 0; ok && start <= path.size();) {
        const size_t end = std::min(path.find('/', start), path.size());
        const std::string part = path.substr(start, end - start);
        ok = !part.empty() && part != "." && part != "..";
        start = end + 1;
    }
    if (!ok) throw Error(repo + ": the hub lists an unsafe file name \"" + path + "\"");
}

std::string http_status_message(const std::string& what, long code) {
    std::string m = what + ": the hub answered HTTP " + std::to_string(code);
    if (code == 401 || code == 403) m += " (the repository may be gated or private: accept its licence on the hub and set HF_TOKEN)";
    if (code == 404) m += " (no such repository, revision or file)";
    return m;
}

bool transient_http(long code) { return code == 408 || code == 429 || code >= 500; }

bool transient_curl(CURLcode c) {
    return c == CURLE_PARTIAL_FILE || c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR || c == CURLE_OPERATION_TIMEDOUT ||
           c == CURLE_COULDNT_CONNECT || c == CURLE_GOT_NOTHING || c == CURLE_COULDNT_RESOLVE_HOST ||
           c == CURLE_HTTP2 || c == CURLE_HTTP2_STREAM || c == CURLE_SSL_CONNECT_ERROR;
}

int stop_when_cancelled(void* cancel, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<const std::atomic<bool>*>(cancel)->load() ? 1 : 0;
}

bool cancelled(const HubOptions& o) { return o.cancel && o.cancel->load(); }

// Sleeps, waking early when the download is cancelled.
void pause_unless_cancelled(std::chrono::milliseconds total, const HubOptions& o) {
    for (auto slept = std::chrono::milliseconds(0); slept < total && !cancelled(o); slept += std::chrono::milliseconds(50))
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

// {base}/{repo}/{middle}/{revision}{rest}: the hub's URLs for a repository.
std::string repo_url(const HubOptions& o, const std::string& prefix, const std::string& repo, const std::string& middle,
                     const std::string& rest) {
    return trim_slash(o.base_url) + prefix + url_encode(repo, true) + "/" + middle + "/" + url_encode(o.revision, false) + rest;
}

// One libcurl easy handle with the options every request shares.
class Request {
public:
    Request(const std::string& url, const HubOptions& o) : h_(curl_easy_init()) {
        if (!h_) throw Error("cannot start an HTTP request (libcurl)");
        curl_easy_setopt(h_, CURLOPT_URL, url.c_str());
        curl_easy_setopt(h_, CURLOPT_FOLLOWLOCATION, 1L);   // resolve/ redirects to a CDN
        curl_easy_setopt(h_, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(h_, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(h_, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h_, CURLOPT_LOW_SPEED_TIME, long(o.stall_seconds));
        curl_easy_setopt(h_, CURLOPT_USERAGENT, "PhiDesk");
        curl_easy_setopt(h_, CURLOPT_ERRORBUFFER, error_);
        curl_easy_setopt(h_, CURLOPT_NOSIGNAL, 1L);
        if (!o.token.empty()) header("Authorization: Bearer " + o.token);   // not sent on to other hosts
        if (o.cancel) {   // a cancel also stops a request that is waiting on the network
            curl_easy_setopt(h_, CURLOPT_NOPROGRESS, 0L);
            curl_easy_setopt(h_, CURLOPT_XFERINFOFUNCTION, stop_when_cancelled);
            curl_easy_setopt(h_, CURLOPT_XFERINFODATA, o.cancel);
        }
    }
    ~Request() {
        curl_slist_free_all(headers_);
        curl_easy_cleanup(h_);
    }
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;

    void header(const std::string& line) {
        headers_ = curl_slist_append(headers_, line.c_str());
        curl_easy_setopt(h_, CURLOPT_HTTPHEADER, headers_);
    }
    CURL* get() const { return h_; }
    CURLcode perform() {
        error_[0] = '\0';
        return curl_easy_perform(h_);
    }
    long status() const {
        long code = 0;
        curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &code);
        return code;
    }
    std::string error_text(CURLcode c) const { return error_[0] ? error_ : curl_easy_strerror(c); }

private:
    CURL* h_;
    curl_slist* headers_ = nullptr;
    char error_[CURL_ERROR_SIZE] = {};
};

size_t append_to_string(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
}

// Link: <url1>; rel="prev", <url2>; rel="next"   (the tree API pages long listings)
size_t find_next_link(char* data, size_t size, size_t n, void* out) {
    const std::string line(data, size * n);
    if (line.size() < 5 || strncasecmp(line.c_str(), "link:", 5) != 0) return size * n;
    for (size_t start = 5; start < line.size();) {
        const size_t end = std::min(line.find(',', start), line.size());
        const std::string entry = line.substr(start, end - start);
        const size_t a = entry.find('<'), b = entry.find('>');
        if (a != std::string::npos && b != std::string::npos && b > a && entry.find("rel=\"next\"") != std::string::npos)
            *static_cast<std::string*>(out) = entry.substr(a + 1, b - a - 1);
        start = end + 1;
    }
    return size * n;
}

std::string get_text(const std::string& url, const std::string& what, const HubOptions& o, std::string* next) {
    Request r(url, o);
    std::string body;
    curl_easy_setopt(r.get(), CURLOPT_WRITEFUNCTION, append_to_string);
    curl_easy_setopt(r.get(), CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(r.get(), CURLOPT_HEADERFUNCTION, find_next_link);
    curl_easy_setopt(r.get(), CURLOPT_HEADERDATA, next);
    const CURLcode c = r.perform();
    if (cancelled(o)) throw DownloadCancelled("download cancelled");
    if (c != CURLE_OK) throw Error(what + ": " + r.error_text(c) + " (" + url + ")");
    if (r.status() != 200) throw Error(http_status_message(what, r.status()));
    return body;
}

// State of one transfer into a .partial file.
struct Transfer {
    FILE* file = nullptr;
    uint64_t size = 0;          // as the hub lists it
    uint64_t offset = 0;        // bytes in the file
    uint64_t start = 0;         // bytes in the file when this attempt began
    int64_t range_start = -1;   // of a 206 answer (Content-Range)
    bool too_long = false;      // the hub sent more than it lists
    long status = 0;
    bool started = false;
    std::string write_error;
    CURL* handle = nullptr;
    // progress
    const DownloadCallback* callback = nullptr;
    DownloadProgress p;
    uint64_t base = 0;          // bytes of the files before this one
    Clock::time_point t0, last;
    const std::atomic<bool>* cancel = nullptr;
    bool cancelled = false;
};

size_t write_partial(char* data, size_t size, size_t n, void* user) {
    auto& t = *static_cast<Transfer*>(user);
    const size_t bytes = size * n;
    if (!t.started) {
        t.started = true;
        curl_easy_getinfo(t.handle, CURLINFO_RESPONSE_CODE, &t.status);
        if (t.status == 200 && t.offset > 0) {   // the server ignored Range: start again from 0
            if (std::fflush(t.file) != 0 || ftruncate(fileno(t.file), 0) != 0 || std::fseek(t.file, 0, SEEK_SET) != 0) {
                t.write_error = std::strerror(errno);
                return 0;
            }
            t.offset = t.start = 0;
        }
    }
    if (t.status != 200 && t.status != 206) return bytes;   // an error page: the status says enough
    if (t.status == 206 && t.range_start != int64_t(t.start)) {   // not the range asked for
        t.write_error = "the hub answered with bytes from " + std::to_string(t.range_start) + ", not from " + std::to_string(t.start);
        return 0;
    }
    if (t.offset + bytes > t.size) {
        t.too_long = true;
        return 0;
    }
    if (std::fwrite(data, 1, bytes, t.file) != bytes) {
        t.write_error = std::strerror(errno);
        return 0;
    }
    t.offset += bytes;
    return bytes;
}

size_t read_content_range(char* data, size_t size, size_t n, void* user) {
    const std::string line(data, size * n);   // Content-Range: bytes 100-999/1000
    if (line.size() > 20 && strncasecmp(line.c_str(), "content-range: bytes ", 21) == 0)
        static_cast<Transfer*>(user)->range_start = std::strtoll(line.c_str() + 21, nullptr, 10);
    return size * n;
}

int report_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto& t = *static_cast<Transfer*>(user);
    const auto now = Clock::now();
    if (now - t.last < std::chrono::milliseconds(100)) return 0;
    t.last = now;
    const double seconds = std::chrono::duration<double>(now - t.t0).count();
    t.p.done = t.base + t.offset;
    t.p.bytes_per_second = seconds > 0 ? double(t.offset - t.start) / seconds : 0;
    if ((*t.callback && !(*t.callback)(t.p)) || (t.cancel && t.cancel->load())) t.cancelled = true;
    return t.cancelled ? 1 : 0;
}

uint64_t file_size_or_zero(const fs::path& p) {
    std::error_code ec;
    const auto s = fs::file_size(p, ec);
    return ec ? 0 : uint64_t(s);
}

std::string mb(uint64_t bytes) { return std::to_string((bytes + 500000) / 1000000) + " MB"; }

struct FileCloser {
    void operator()(FILE* f) const { std::fclose(f); }
};

// Fetches `url` into `part` until it holds `size` bytes, resuming with Range. An attempt that
// brings the file further than ever before does not count against o.attempts.
void fetch(const std::string& url, const std::string& name, const fs::path& part, uint64_t size, const HubOptions& o,
           Transfer& t) {
    int failures = 0;
    uint64_t furthest = 0;
    std::string last_error;
    t.size = size;
    while (true) {
        t.offset = t.start = file_size_or_zero(part);
        if (t.offset > size) {   // not what the hub lists now: start over
            fs::remove(part);
            t.offset = t.start = 0;
        }
        std::unique_ptr<FILE, FileCloser> f(std::fopen(part.c_str(), "ab"));   // also makes an empty file
        if (!f) throw Error(part.string() + ": cannot write: " + std::strerror(errno));
        if (t.offset == size) return;
        Request r(url, o);
        if (t.offset > 0) r.header("Range: bytes=" + std::to_string(t.offset) + "-");
        t.file = f.get();
        t.handle = r.get();
        t.started = t.too_long = false;
        t.status = 0;
        t.range_start = -1;
        t.t0 = Clock::now();
        curl_easy_setopt(r.get(), CURLOPT_WRITEFUNCTION, write_partial);
        curl_easy_setopt(r.get(), CURLOPT_WRITEDATA, &t);
        curl_easy_setopt(r.get(), CURLOPT_HEADERFUNCTION, read_content_range);
        curl_easy_setopt(r.get(), CURLOPT_HEADERDATA, &t);
        curl_easy_setopt(r.get(), CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(r.get(), CURLOPT_XFERINFOFUNCTION, report_progress);
        curl_easy_setopt(r.get(), CURLOPT_XFERINFODATA, &t);
        const CURLcode c = r.perform();
        const bool flushed = std::fflush(f.get()) == 0;
        if (!flushed && t.write_error.empty()) t.write_error = std::strerror(errno);
        f.reset();
        const long status = t.status ? t.status : r.status();
        const uint64_t now = file_size_or_zero(part);
        if (t.cancelled || cancelled(o))
            throw DownloadCancelled("download cancelled: " + mb(now) + " of " + name + " kept; the next download resumes there");
        if (!t.write_error.empty()) throw Error(part.string() + ": " + t.write_error);
        if (t.too_long) {
            fs::remove(part);
            throw Error(name + ": the hub sent more than the " + std::to_string(size) + " bytes it lists; the file was deleted");
        }
        if (c == CURLE_OK && (status == 200 || status == 206)) {
            if (now == size) return;
            throw Error(name + ": the hub sent " + std::to_string(now) + " bytes, its listing says " + std::to_string(size) +
                        " (" + mb(now) + " kept)");
        }
        if (c == CURLE_OK && status == 416) {
            fs::remove(part);   // our partial file does not fit the file on the hub
            last_error = "HTTP 416 (range not satisfiable)";
        } else if (c == CURLE_OK && !transient_http(status)) {
            throw Error(http_status_message(name, status));
        } else {
            if (c != CURLE_OK && !transient_curl(c)) throw Error(name + ": " + r.error_text(c));
            last_error = c != CURLE_OK ? r.error_text(c) : "HTTP " + std::to_string(status);
        }
        if (now > furthest) {   // an interrupted transfer that got further resumes at once
            furthest = now;
            failures = 0;
            continue;
        }
        if (++failures >= o.attempts)
            throw Error(name + ": download failed after " + std::to_string(o.attempts) + " attempts: " + last_error +
                        " (" + mb(now) + " kept; run the download again to resume)");
        pause_unless_cancelled(std::chrono::milliseconds(250) * (1 << std::min(failures, 6)), o);
    }
}

}  // namespace

std::string default_hub_url() {
    const char* env = std::getenv("PHIDESK_HUB_URL");
    return env && *env ? env : "https://huggingface.co";
}

std::vector<HubFile> hub_list_files(const std::string& repo, const HubOptions& o) {
    init_curl();
    std::string url = repo_url(o, "/api/models/", repo, "tree", "?recursive=true");
    std::vector<HubFile> files;
    while (!url.empty()) {
        std::string next;
        const std::string body = get_text(url, repo + " (file list)", o, &next);
        try {
            const nlohmann::json list = nlohmann::json::parse(body);
            for (const auto& e : list) {
                if (e.value("type", "") != "file") continue;
                HubFile f{e.at("path").get<std::string>(), e.at("size").get<uint64_t>(), ""};
                if (e.contains("lfs") && e["lfs"].is_object()) {
                    const auto& lfs = e["lfs"];
                    f.sha256 = lfs.contains("sha256") ? lfs["sha256"].get<std::string>() : lfs.at("oid").get<std::string>();
                    if (lfs.contains("size")) f.size = lfs["size"].get<uint64_t>();
                }
                check_safe_path(repo, f.path);
                files.push_back(std::move(f));
            }
        } catch (const nlohmann::json::exception& e) {
            throw Error(repo + ": the hub's file list is not the expected JSON: " + e.what());
        }
        if (!next.empty() && next.rfind(trim_slash(o.base_url) + "/", 0) != 0)
            throw Error(repo + ": the hub's next page is on another server (" + next + ")");   // the token stays home
        url = next;
    }
    return files;
}

std::vector<HubFile> model_files(const std::string& repo, const std::vector<HubFile>& all) {
    auto ends_with = [](const std::string& s, const char* suffix) {
        const size_t n = std::strlen(suffix);
        return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
    };
    std::vector<HubFile> picked;
    bool weights = false;
    for (const HubFile& f : all) {
        const std::string name = f.path.substr(f.path.rfind('/') + 1);
        const bool safetensors = ends_with(name, ".safetensors");
        weights = weights || safetensors;
        if (safetensors || ends_with(name, ".json") || name == "merges.txt" || name == "README.md" || name == "LICENSE")
            picked.push_back(f);
    }
    if (!weights)
        throw Error(repo + " has no .safetensors weights (PhiDesk does not read PyTorch .bin checkpoints)");
    return picked;
}

void hub_download(const std::string& repo, const std::vector<HubFile>& files, const fs::path& out, const HubOptions& o,
                  const DownloadCallback& progress) {
    init_curl();
    fs::create_directories(out);
    Transfer t;
    t.callback = &progress;
    t.cancel = o.cancel;
    t.p.file_count = int(files.size());
    uint64_t missing = 0;
    for (const HubFile& f : files) {
        check_safe_path(repo, f.path);
        t.p.total += f.size;
        const fs::path final = out / f.path;
        if (file_size_or_zero(final) != f.size) missing += f.size - std::min(f.size, file_size_or_zero(fs::path(final) += ".partial"));
    }
    const auto space = fs::space(out);
    if (space.available < missing)
        throw Error("not enough disk space in " + out.string() + ": the download needs " + mb(missing) + ", " +
                    mb(space.available) + " are free");

    for (size_t i = 0; i < files.size(); ++i) {
        const HubFile& f = files[i];
        const fs::path final = out / f.path, part = fs::path(final) += ".partial";
        fs::create_directories(final.parent_path());
        t.p.file = f.path;
        t.p.file_index = int(i);
        auto digest = [&](const fs::path& p) {   // "" when the hub lists none
            if (f.sha256.empty()) return std::string();
            t.p.verifying = true;
            if ((progress && !progress(t.p)) || cancelled(o)) throw DownloadCancelled("download cancelled while checking " + f.path);
            t.p.verifying = false;
            return sha256_file(p);
        };
        if (fs::exists(final) && file_size_or_zero(final) == f.size) {
            if (digest(final) == f.sha256) {
                t.base += f.size;
                continue;
            }
            fs::remove(final);   // damaged: fetch it again
        }
        const std::string file_url = repo_url(o, "/", repo, "resolve", "/") + url_encode(f.path, true);
        fetch(file_url, f.path, part, f.size, o, t);
        const std::string got = digest(part);
        if (got != f.sha256) {
            fs::remove(part);
            throw Error(f.path + ": SHA-256 mismatch: the hub lists " + f.sha256 + ", the download has " + got +
                        "; the damaged file was deleted, download again");
        }
        fs::rename(part, final);
        t.base += f.size;
        t.p.done = t.base;
        if ((progress && !progress(t.p)) || cancelled(o)) throw DownloadCancelled("download cancelled after " + f.path);
    }
}

fs::path download_model(const ModelDownload& d, const HubOptions& o, const DownloadCallback& progress,
                        const std::function<void(const ConvertProgress&)>& converting) {
    const std::vector<HubFile> files = model_files(d.repo, hub_list_files(d.repo, o));
    hub_download(d.repo, files, d.folder, o, progress);
    if (d.phz.empty()) return {};
    ConvertOptions c;
    c.quant = d.quant;
    c.cancel = o.cancel;
    c.on_progress = converting;
    try {
        convert_to_phz(d.folder, d.phz, c);
    } catch (const Error&) {
        if (cancelled(o)) throw DownloadCancelled("cancelled while converting; the downloaded files are kept");
        throw;
    }
    if (d.delete_originals) {   // only what was downloaded; the folder too when that empties it
        std::error_code ec;
        for (const HubFile& f : files) fs::remove(d.folder / f.path, ec);
        if (fs::is_empty(d.folder, ec)) fs::remove(d.folder, ec);
    }
    return d.phz;
}

}  // namespace phidesk
