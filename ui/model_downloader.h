// Getting a model from a hub off the GUI thread (phidesk::download_model: list, download with
// resume and SHA-256 checks, convert to .phz, optionally delete the originals). The welcome page
// shows its signals; it holds no widgets.
#pragma once
#include <QObject>
#include <QString>
#include <QThread>
#include <atomic>

namespace phidesk::ui {

struct DownloadRequest {
    QString hubUrl, repo, folder;   // files go to folder/<repo name>, the model to folder/<repo name>.phz
    QString quant = QStringLiteral("keep");
    bool deleteOriginals = false;
};

class ModelDownloader : public QObject {
    Q_OBJECT
public:
    explicit ModelDownloader(QObject* parent = nullptr);
    ~ModelDownloader() override;   // cancels and waits

    void start(const DownloadRequest& r);   // not while running()
    void cancel();
    bool running() const;

signals:
    // bytesPerSecond: of the download; during conversion `file` names the tensor and
    // `converting` is true. `verifying`: checking the SHA-256 of `file`.
    void progress(const QString& file, qint64 done, qint64 total, double bytesPerSecond, bool verifying, bool converting);
    // phz empty and error set on failure; `cancelled` when the user stopped it (files are kept
    // so that the next start resumes).
    void finished(const QString& phz, const QString& error, bool cancelled);

private:
    QThread* thread_ = nullptr;
    std::atomic<bool> cancel_{false};
};

}  // namespace phidesk::ui
