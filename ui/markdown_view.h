// A read-only view of Markdown text with highlighted fenced code and a "Copy" link under each
// code block. Re-rendering while text streams in is throttled so the GUI stays fluid.
#pragma once
#include <QStringList>
#include <QTextBrowser>
#include <QTimer>

#include <KSyntaxHighlighting/Repository>

namespace phidesk::ui {

class CodeBlockHighlighter;

// The fenced code blocks of a Markdown text, in order, as (language, code).
QList<QPair<QString, QString>> fencedCodeBlocks(const QString& markdown);

class MarkdownView : public QTextBrowser {
    Q_OBJECT
public:
    MarkdownView(KSyntaxHighlighting::Repository& repo, QWidget* parent = nullptr);
    void setMarkdownText(const QString& md);   // renders soon (throttled)
    void renderNow();
    const QStringList& codeBlocks() const { return code_; }

signals:
    void codeCopied(const QString& code);

protected:
    void changeEvent(QEvent* e) override;

private:
    void applyTheme();

    KSyntaxHighlighting::Repository& repo_;
    CodeBlockHighlighter* highlighter_;
    QString markdown_;
    QStringList code_;
    QTimer render_timer_;
};

}  // namespace phidesk::ui
