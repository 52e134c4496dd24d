// The first page a new user sees: start with the bundled demo, open a model from disk, or
// download phi-2 / phi-1_5 from the hub (progress, speed, cancel; the work is ModelDownloader's).
#pragma once
#include <QWidget>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;

namespace phidesk::ui {

class AppSettings;
class ModelDownloader;

class WelcomePage : public QWidget {
    Q_OBJECT
public:
    WelcomePage(AppSettings& settings, ModelDownloader& downloader, QWidget* parent = nullptr);

    QComboBox* repository() const { return repo_; }
    QLineEdit* folder() const { return folder_; }
    QCheckBox* deleteOriginals() const { return delete_; }
    QPushButton* downloadButton() const { return download_; }
    QLabel* status() const { return status_; }

signals:
    void demoRequested();
    void openFileRequested();
    void openFolderRequested();
    void modelReady(const QString& phz);

private:
    void startDownload();
    void showProgress(const QString& file, qint64 done, qint64 total, double bytesPerSecond, bool verifying, bool converting);
    void showFinished(const QString& phz, const QString& error, bool cancelled);

    AppSettings& settings_;
    ModelDownloader& downloader_;
    QComboBox *repo_, *quant_;
    QLineEdit* folder_;
    QCheckBox* delete_;
    QPushButton *download_, *cancel_;
    QProgressBar* bar_;
    QLabel* status_;
};

}  // namespace phidesk::ui
