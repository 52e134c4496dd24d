#include "summarize_page.h"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSplitter>
#include <QVBoxLayout>

#include "app_settings.h"
#include "engine_bridge.h"
#include "markdown_view.h"
#include "phidesk/prompt.h"

namespace phidesk::ui {

SummarizePage::SummarizePage(EngineBridge& engine, AppSettings& settings, KSyntaxHighlighting::Repository& repo, QWidget* parent)
    : QWidget(parent), engine_(engine), settings_(settings) {
    input_ = new QPlainTextEdit;
    input_->setPlaceholderText(tr("Paste a text, or open a .txt or .md file."));
    auto* open = new QPushButton(tr("Open…"));
    length_ = new QComboBox;
    length_->addItem(tr("Short (one sentence)"), int(SummaryLength::Short));
    length_->addItem(tr("Medium (three sentences)"), int(SummaryLength::Medium));
    length_->addItem(tr("Bullet points"), int(SummaryLength::Bullets));
    length_->setCurrentIndex(1);
    run_ = new QPushButton(tr("Summarize"));
    cancel_ = new QPushButton(tr("Cancel"));
    cancel_->setEnabled(false);
    progress_ = new QProgressBar;
    progress_->setRange(0, 1);
    progress_->setValue(0);
    status_ = new QLabel;
    result_ = new MarkdownView(repo);
    copy_ = new QPushButton(tr("Copy"));
    export_ = new QPushButton(tr("Export…"));
    auto* tools = new QHBoxLayout;
    for (QWidget* w : std::initializer_list<QWidget*>{open, length_, run_, cancel_}) tools->addWidget(w);
    tools->addWidget(progress_, 1);
    auto* resultTools = new QHBoxLayout;
    resultTools->addWidget(status_, 1);
    resultTools->addWidget(copy_);
    resultTools->addWidget(export_);
    auto* top = new QWidget;
    auto* topLayout = new QVBoxLayout(top);
    topLayout->addWidget(input_);
    topLayout->addLayout(tools);
    auto* bottom = new QWidget;
    auto* bottomLayout = new QVBoxLayout(bottom);
    bottomLayout->addWidget(result_);
    bottomLayout->addLayout(resultTools);
    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(top);
    split->addWidget(bottom);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(split);

    connect(open, &QPushButton::clicked, this, [this] { openFile(); });
    connect(run_, &QPushButton::clicked, this, &SummarizePage::run);
    connect(cancel_, &QPushButton::clicked, this, &SummarizePage::cancel);
    connect(copy_, &QPushButton::clicked, this, [this] { QApplication::clipboard()->setText(text_); });
    connect(export_, &QPushButton::clicked, this, &SummarizePage::exportResult);
    connect(&engine_, &EngineBridge::summaryProgress, this, [this](quint64 id, int level, int chunk, int chunks) {
        if (id != request_) return;
        progress_->setRange(0, chunks);
        progress_->setValue(chunk);
        status_->setText(level == 1 ? tr("Part %1 of %2").arg(chunk).arg(chunks)
                                    : tr("Combining summaries: %1 of %2").arg(chunk).arg(chunks));
    });
    connect(&engine_, &EngineBridge::summaryFinished, this, [this](quint64 id, const QString& text, bool cancelled) {
        if (id != request_) return;
        request_ = 0;
        text_ = text;
        result_->setMarkdownText(text);
        result_->renderNow();
        run_->setEnabled(true);
        cancel_->setEnabled(false);
        if (!cancelled) progress_->setValue(progress_->maximum());
        status_->setText(cancelled ? tr("Cancelled: the summary covers only the parts done.") : tr("Done."));
        emit finished(cancelled);
    });
    connect(&engine_, &EngineBridge::failed, this, [this](quint64 id, const QString& message) {
        if (id != request_) return;
        request_ = 0;
        run_->setEnabled(true);
        cancel_->setEnabled(false);
        status_->setText(tr("Error: %1").arg(message));
    });
}

void SummarizePage::run() {
    if (request_ || input_->toPlainText().trimmed().isEmpty()) return;
    text_.clear();
    result_->setMarkdownText(QString());
    progress_->setRange(0, 0);   // busy until the plan is known
    status_->setText(tr("Reading the text…"));
    run_->setEnabled(false);
    cancel_->setEnabled(true);
    request_ = engine_.summarize(input_->toPlainText(), length_->currentData().toInt(), settings_.generation(Job::Summary),
                                 settings_.promptFormatJson());
}

void SummarizePage::cancel() {
    if (request_) engine_.cancel();
}

void SummarizePage::openFile(const QString& given) {
    const QString path = given.isEmpty() ? QFileDialog::getOpenFileName(this, tr("Open text"), QString(),
                                                                        tr("Text (*.txt *.md);;All files (*)"))
                                         : given;
    if (path.isEmpty()) return;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        QMessageBox::warning(this, tr("Open"), tr("Cannot read %1: %2").arg(path, f.errorString()));
        return;
    }
    input_->setPlainText(QString::fromUtf8(f.readAll()));   // invalid UTF-8 becomes U+FFFD, as the tokenizer would
}

void SummarizePage::exportResult() {
    if (text_.isEmpty()) return;
    const QString path = QFileDialog::getSaveFileName(this, tr("Export summary"), QString(), tr("Markdown (*.md);;Text (*.txt)"));
    if (path.isEmpty()) return;
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(text_.toUtf8()) < 0)
        QMessageBox::warning(this, tr("Export"), tr("Cannot write %1: %2").arg(path, f.errorString()));
}

}  // namespace phidesk::ui
