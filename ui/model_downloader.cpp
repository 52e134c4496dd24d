#include "model_downloader.h"

#include <filesystem>

#include "phidesk/hub.h"
#include "phidesk/phz.h"

namespace phidesk::ui {

ModelDownloader::ModelDownloader(QObject* parent) : QObject(parent) {}

ModelDownloader::~ModelDownloader() {
    cancel();
    if (thread_) thread_->wait();
}

bool ModelDownloader::running() const { return thread_ && thread_->isRunning(); }

void ModelDownloader::cancel() { cancel_ = true; }

void ModelDownloader::start(const DownloadRequest& r) {
    if (running()) return;
    if (thread_) thread_->deleteLater();
    cancel_ = false;
    thread_ = QThread::create([this, r] {
        namespace fs = std::filesystem;
        const std::string repo = r.repo.toStdString();
        const fs::path folder = r.folder.toStdString();
        const fs::path dir = folder / repo.substr(repo.rfind('/') + 1);
        const fs::path phz = fs::path(dir) += ".phz";
        try {
            HubOptions o;
            o.base_url = r.hubUrl.toStdString();
            if (const char* token = std::getenv("HF_TOKEN")) o.token = token;
            const std::vector<HubFile> files = model_files(repo, hub_list_files(repo, o));
            hub_download(repo, files, dir, o, [this](const DownloadProgress& p) {
                emit progress(QString::fromStdString(p.file), qint64(p.done), qint64(p.total), p.bytes_per_second, p.verifying, false);
                return !cancel_.load();
            });
            ConvertOptions c;
            c.quant = r.quant.toStdString();
            c.cancel = &cancel_;
            c.on_progress = [this](const ConvertProgress& p) {
                emit progress(QString::fromStdString(p.tensor), qint64(p.bytes_done), qint64(p.bytes_total),
                              double(p.bytes_done) / std::max(p.seconds, 1e-9), false, true);
            };
            convert_to_phz(dir, phz, c);
            if (r.deleteOriginals) {   // only what was downloaded; the folder goes if that leaves it empty
                for (const HubFile& f : files) fs::remove(dir / f.path);
                std::error_code ec;
                if (fs::is_empty(dir, ec)) fs::remove(dir, ec);
            }
            emit finished(QString::fromStdString(phz.string()), {}, false);
        } catch (const std::exception& e) {
            emit finished({}, QString::fromStdString(e.what()), cancel_.load());
        }
    });
    thread_->start();
}

}  // namespace phidesk::ui
