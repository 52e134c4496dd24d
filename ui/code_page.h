// The Code workspace: a highlighted editor with "complete at cursor" (the suggestion is shown
// apart until accepted or rejected) and "generate from description".
#pragma once
#include <QWidget>

#include <KSyntaxHighlighting/Repository>

class QComboBox;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;

namespace KSyntaxHighlighting {
class SyntaxHighlighter;
}

namespace phidesk::ui {

class AppSettings;
class EngineBridge;
class MarkdownView;

class CodePage : public QWidget {
    Q_OBJECT
public:
    CodePage(EngineBridge& engine, AppSettings& settings, KSyntaxHighlighting::Repository& repo, QWidget* parent = nullptr);

    QPlainTextEdit* editor() const { return editor_; }
    MarkdownView* result() const { return result_; }
    bool hasSuggestion() const { return suggestion_end_ > suggestion_start_; }

public slots:
    void completeAtCursor();
    void acceptSuggestion();
    void rejectSuggestion();
    void generateFromDescription();
    void setLanguage(const QString& name);
    void openFile();

signals:
    void suggestionFinished();
    void generationFinished();

protected:
    void changeEvent(QEvent* e) override;

private:
    void markSuggestion();
    void insertResultCode();

    EngineBridge& engine_;
    AppSettings& settings_;
    KSyntaxHighlighting::Repository& repo_;
    QPlainTextEdit* editor_;
    KSyntaxHighlighting::SyntaxHighlighter* highlighter_;
    QComboBox* language_;
    QLineEdit* description_;
    MarkdownView* result_;
    QPushButton *complete_, *accept_, *reject_, *generate_, *insert_;
    quint64 request_ = 0;
    bool completing_ = false;
    int suggestion_start_ = 0, suggestion_end_ = 0;
    QString generated_;
};

}  // namespace phidesk::ui
