#include "markdown_view.h"

#include <QApplication>
#include <QClipboard>
#include <QEvent>
#include <QRegularExpression>
#include <QScrollBar>

#include <KSyntaxHighlighting/Theme>

#include "code_block_highlighter.h"

namespace phidesk::ui {

QList<QPair<QString, QString>> fencedCodeBlocks(const QString& markdown) {
    static const QRegularExpression fence(QStringLiteral("^```([^\\n`]*)\\n(.*?)^```"),
                                          QRegularExpression::MultilineOption | QRegularExpression::DotMatchesEverythingOption);
    QList<QPair<QString, QString>> out;
    for (auto it = fence.globalMatch(markdown); it.hasNext();) {
        const auto m = it.next();
        out.append({m.captured(1).trimmed(), m.captured(2)});
    }
    return out;
}

MarkdownView::MarkdownView(KSyntaxHighlighting::Repository& repo, QWidget* parent)
    : QTextBrowser(parent), repo_(repo), highlighter_(new CodeBlockHighlighter(repo, document())) {
    setOpenLinks(false);
    render_timer_.setSingleShot(true);
    render_timer_.setInterval(40);
    connect(&render_timer_, &QTimer::timeout, this, &MarkdownView::renderNow);
    connect(this, &QTextBrowser::anchorClicked, this, [this](const QUrl& url) {
        if (url.scheme() != QLatin1String("copy")) return;
        const int i = url.path().toInt();
        if (i < 0 || i >= code_.size()) return;
        QApplication::clipboard()->setText(code_[i]);
        emit codeCopied(code_[i]);
    });
    applyTheme();
}

void MarkdownView::setMarkdownText(const QString& md) {
    markdown_ = md;
    if (!render_timer_.isActive()) render_timer_.start();
}

void MarkdownView::renderNow() {
    render_timer_.stop();
    // A Copy link under each closed code fence.
    code_.clear();
    QString md;
    static const QRegularExpression fence(QStringLiteral("^```([^\\n`]*)\\n(.*?)^```[ \\t]*$"),
                                          QRegularExpression::MultilineOption | QRegularExpression::DotMatchesEverythingOption);
    qsizetype at = 0;
    for (auto it = fence.globalMatch(markdown_); it.hasNext();) {
        const auto m = it.next();
        md += markdown_.mid(at, m.capturedEnd() - at);
        md += QStringLiteral("\n\n[%1](copy:%2)\n").arg(tr("Copy code")).arg(code_.size());
        code_.append(m.captured(2));
        at = m.capturedEnd();
    }
    md += markdown_.mid(at);
    QScrollBar* bar = verticalScrollBar();
    const bool follow = bar->value() >= bar->maximum() - 4;
    document()->setMarkdown(md);
    if (follow) bar->setValue(bar->maximum());
}

void MarkdownView::changeEvent(QEvent* e) {
    QTextBrowser::changeEvent(e);
    if (e->type() == QEvent::PaletteChange) applyTheme();
}

void MarkdownView::applyTheme() {
    highlighter_->setTheme(repo_.themeForPalette(palette()));
}

}  // namespace phidesk::ui
