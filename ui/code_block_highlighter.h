// Highlights the fenced code blocks of a Markdown document, each with the KSyntaxHighlighting
// definition its fence names (```cpp, ```python ...), leaving the prose alone.
#pragma once
#include <QSyntaxHighlighter>

#include <KSyntaxHighlighting/AbstractHighlighter>
#include <KSyntaxHighlighting/Repository>

namespace phidesk::ui {

// The definition for a fence language or file name ("cpp", "c++", "Python", "main.rs"); invalid if none.
KSyntaxHighlighting::Definition definitionFor(KSyntaxHighlighting::Repository& repo, const QString& language);

class CodeBlockHighlighter : public QSyntaxHighlighter, public KSyntaxHighlighting::AbstractHighlighter {
    Q_OBJECT
    Q_INTERFACES(KSyntaxHighlighting::AbstractHighlighter)
public:
    CodeBlockHighlighter(KSyntaxHighlighting::Repository& repo, QTextDocument* doc);
    void setTheme(const KSyntaxHighlighting::Theme& theme) override;

protected:
    void highlightBlock(const QString& text) override;
    void applyFormat(int offset, int length, const KSyntaxHighlighting::Format& format) override;

private:
    KSyntaxHighlighting::Repository& repo_;
};

}  // namespace phidesk::ui
