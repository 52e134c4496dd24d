// The Summarize workspace: paste or open a text, choose the length, run with progress over the
// chunks, cancel; copy or export the result.
#pragma once
#include <QWidget>

#include <KSyntaxHighlighting/Repository>

class QComboBox;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QLabel;

namespace phidesk::ui {

class AppSettings;
class EngineBridge;
class MarkdownView;

class SummarizePage : public QWidget {
    Q_OBJECT
public:
    SummarizePage(EngineBridge& engine, AppSettings& settings, KSyntaxHighlighting::Repository& repo, QWidget* parent = nullptr);

    QPlainTextEdit* input() const { return input_; }
    MarkdownView* result() const { return result_; }
    QProgressBar* progress() const { return progress_; }
    QString resultText() const { return text_; }

public slots:
    void run();
    void cancel();
    void openFile(const QString& path = {});

signals:
    void finished(bool cancelled);

private:
    void exportResult();

    EngineBridge& engine_;
    AppSettings& settings_;
    QPlainTextEdit* input_;
    QComboBox* length_;
    QPushButton *run_, *cancel_, *copy_, *export_;
    QProgressBar* progress_;
    QLabel* status_;
    MarkdownView* result_;
    quint64 request_ = 0;
    QString text_;
};

}  // namespace phidesk::ui
