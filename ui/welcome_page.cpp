#include "welcome_page.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>

#include "app_settings.h"
#include "model_downloader.h"

namespace phidesk::ui {
namespace {

QString megabytes(qint64 bytes) { return QString::number(double(bytes) / 1e6, 'f', 1); }

}  // namespace

WelcomePage::WelcomePage(AppSettings& settings, ModelDownloader& downloader, QWidget* parent)
    : QWidget(parent), settings_(settings), downloader_(downloader) {
    auto* title = new QLabel(tr("<h2>Welcome to PhiDesk</h2><p>PhiDesk runs Microsoft's Phi models on this computer; "
                                "nothing you type leaves it. Choose a model to begin.</p>"));
    title->setWordWrap(true);

    auto* demo = new QPushButton(tr("Start with the &demo model"));
    demo->setToolTip(tr("A 14M-parameter model that only recites a few texts about Phi: for trying the app"));
    auto* openFile = new QPushButton(tr("Open a .&phz model…"));
    auto* openFolder = new QPushButton(tr("Open a Hugging Face &folder…"));
    auto* local = new QHBoxLayout;
    for (QPushButton* b : {demo, openFile, openFolder}) local->addWidget(b);
    local->addStretch();
    connect(demo, &QPushButton::clicked, this, &WelcomePage::demoRequested);
    connect(openFile, &QPushButton::clicked, this, &WelcomePage::openFileRequested);
    connect(openFolder, &QPushButton::clicked, this, &WelcomePage::openFolderRequested);

    repo_ = new QComboBox;
    repo_->setEditable(true);   // any repository with Phi weights in safetensors
    repo_->addItem(tr("microsoft/phi-2"), QStringLiteral("microsoft/phi-2"));
    repo_->addItem(tr("microsoft/phi-1_5"), QStringLiteral("microsoft/phi-1_5"));
    quant_ = new QComboBox;
    quant_->addItem(tr("as published (16-bit, phi-2: 5.6 GB)"), QStringLiteral("keep"));
    quant_->addItem(tr("8-bit (phi-2: 2.9 GB)"), QStringLiteral("int8"));
    quant_->addItem(tr("4-bit (phi-2: 1.8 GB, lower quality)"), QStringLiteral("int4"));
    folder_ = new QLineEdit(settings_.modelsFolder());
    auto* browse = new QPushButton(tr("Browse…"));
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Download models into"), folder_->text());
        if (!dir.isEmpty()) folder_->setText(dir);
    });
    auto* folderRow = new QHBoxLayout;
    folderRow->addWidget(folder_, 1);
    folderRow->addWidget(browse);
    delete_ = new QCheckBox(tr("Delete the downloaded files once the .phz model is written"));
    download_ = new QPushButton(tr("Download and &convert"));
    cancel_ = new QPushButton(tr("Cancel"));
    cancel_->setEnabled(false);
    bar_ = new QProgressBar;
    bar_->setRange(0, 1000);
    bar_->setValue(0);
    status_ = new QLabel;
    status_->setWordWrap(true);
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* box = new QGroupBox(tr("Download a model from Hugging Face"));
    auto* form = new QFormLayout(box);
    form->addRow(tr("Model:"), repo_);
    form->addRow(tr("Weights:"), quant_);
    form->addRow(tr("Folder:"), folderRow);
    form->addRow(delete_);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(download_);
    buttons->addWidget(cancel_);
    buttons->addStretch();
    form->addRow(buttons);
    form->addRow(bar_);
    form->addRow(status_);
    connect(download_, &QPushButton::clicked, this, &WelcomePage::startDownload);
    connect(cancel_, &QPushButton::clicked, &downloader_, &ModelDownloader::cancel);
    connect(&downloader_, &ModelDownloader::progress, this, &WelcomePage::showProgress);
    connect(&downloader_, &ModelDownloader::finished, this, &WelcomePage::showFinished);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(24, 24, 24, 24);
    layout->addWidget(title);
    layout->addLayout(local);
    layout->addSpacing(16);
    layout->addWidget(box);
    layout->addStretch();
}

void WelcomePage::startDownload() {
    const int i = repo_->currentIndex();
    const QString text = repo_->currentText().trimmed();
    DownloadRequest r;
    r.repo = i >= 0 && repo_->itemText(i) == text ? repo_->itemData(i).toString() : text;
    r.hubUrl = settings_.hubUrl();
    r.folder = folder_->text().trimmed();
    r.quant = quant_->currentData().toString();
    r.deleteOriginals = delete_->isChecked();
    download_->setEnabled(false);
    cancel_->setEnabled(true);
    status_->setText(tr("Asking %1 for the files of %2…").arg(r.hubUrl, r.repo));
    downloader_.start(r);
}

void WelcomePage::showProgress(const QString& file, qint64 done, qint64 total, double bytesPerSecond, bool verifying,
                               bool converting) {
    bar_->setValue(total > 0 ? int(1000 * done / total) : 0);
    const double eta = bytesPerSecond > 0 ? double(total - done) / bytesPerSecond : 0;
    if (converting)
        status_->setText(tr("Converting to .phz: %1 / %2 MB (%3)").arg(megabytes(done), megabytes(total), file));
    else if (verifying)
        status_->setText(tr("Checking the SHA-256 of %1…").arg(file));
    else
        status_->setText(tr("Downloading %1: %2 / %3 MB, %4 MB/s, about %5 s left")
                             .arg(file, megabytes(done), megabytes(total), QString::number(bytesPerSecond / 1e6, 'f', 1))
                             .arg(qint64(eta)));
}

void WelcomePage::showFinished(const QString& phz, const QString& error, bool cancelled) {
    download_->setEnabled(true);
    cancel_->setEnabled(false);
    if (!error.isEmpty()) {
        status_->setText(cancelled ? tr("Stopped. The files downloaded so far are kept: start again to resume.")
                                   : tr("The download failed: %1").arg(error));
        return;
    }
    bar_->setValue(1000);
    status_->setText(tr("Ready: %1").arg(phz));
    emit modelReady(phz);
}

}  // namespace phidesk::ui
