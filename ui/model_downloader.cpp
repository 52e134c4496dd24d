#include "model_downloader.h"

#include <filesystem>

#include "phidesk/hub.h"
#include "phidesk/phz.h"

namespace phidesk::ui {

ModelDownloader::ModelDownloader(QObject* parent) : QObject(parent) {}

ModelDownloader::~ModelDownloader() {
    cancel();   // stops requests, waits and conversion promptly
    if (thread_) {
        thread_->wait();
        delete thread_;
    }
}

bool ModelDownloader::running() const { return thread_ && thread_->isRunning(); }

void ModelDownloader::cancel() { cancel_ = true; }

void ModelDownloader::start(const DownloadRequest& r) {
    if (thread_) {   // the last run has sent `finished`; its thread is ending
        thread_->wait();
        delete thread_;
    }
    cancel_ = false;
    thread_ = QThread::create([this, r] {
        ModelDownload d;
        d.repo = r.repo.toStdString();
        d.folder = std::filesystem::path(r.folder.toStdString()) / d.repo.substr(d.repo.rfind('/') + 1);
        d.phz = std::filesystem::path(d.folder) += ".phz";
        d.quant = r.quant.toStdString();
        d.delete_originals = r.deleteOriginals;
        HubOptions o;
        o.base_url = r.hubUrl.toStdString();
        o.cancel = &cancel_;
        if (const char* token = std::getenv("HF_TOKEN")) o.token = token;
        try {
            const auto phz = download_model(d, o, [this](const DownloadProgress& p) {
                emit progress(QString::fromStdString(p.file), qint64(p.done), qint64(p.total), p.bytes_per_second, p.verifying, false);
                return true;
            }, [this](const ConvertProgress& p) {
                emit progress(QString::fromStdString(p.tensor), qint64(p.bytes_done), qint64(p.bytes_total),
                              double(p.bytes_done) / std::max(p.seconds, 1e-9), false, true);
            });
            emit finished(QString::fromStdString(phz.string()), {}, false);
        } catch (const DownloadCancelled& e) {
            emit finished({}, QString::fromStdString(e.what()), true);
        } catch (const std::exception& e) {
            emit finished({}, QString::fromStdString(e.what()), false);
        }
    });
    thread_->start();
}

}  // namespace phidesk::ui
