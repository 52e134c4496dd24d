#include "code_block_highlighter.h"

#include <KSyntaxHighlighting/Definition>
#include <KSyntaxHighlighting/Format>
#include <KSyntaxHighlighting/State>
#include <KSyntaxHighlighting/Theme>
#include <QTextBlock>

namespace phidesk::ui {
namespace {

// The highlighter state at the end of a block, for the next line of the same code block.
struct BlockState : QTextBlockUserData {
    KSyntaxHighlighting::State state;
    QString language;
};

}  // namespace

KSyntaxHighlighting::Definition definitionFor(KSyntaxHighlighting::Repository& repo, const QString& language) {
    if (language.isEmpty()) return {};
    KSyntaxHighlighting::Definition d = repo.definitionForName(language);
    if (!d.isValid()) d = repo.definitionForFileName(language.contains(QLatin1Char('.')) ? language : QStringLiteral("code.") + language);
    return d;
}

CodeBlockHighlighter::CodeBlockHighlighter(KSyntaxHighlighting::Repository& repo, QTextDocument* doc)
    : QSyntaxHighlighter(doc), repo_(repo) {}

void CodeBlockHighlighter::setTheme(const KSyntaxHighlighting::Theme& theme) {
    AbstractHighlighter::setTheme(theme);
    rehighlight();   // setTheme alone does not re-highlight
}

void CodeBlockHighlighter::highlightBlock(const QString& text) {
    const QTextBlockFormat f = currentBlock().blockFormat();
    if (!f.hasProperty(QTextFormat::BlockCodeFence) && !f.hasProperty(QTextFormat::BlockCodeLanguage)) return;
    const QString language = f.stringProperty(QTextFormat::BlockCodeLanguage);
    const KSyntaxHighlighting::Definition def = definitionFor(repo_, language);
    if (!def.isValid()) return;
    if (definition() != def) setDefinition(def);
    KSyntaxHighlighting::State previous;
    if (auto* p = dynamic_cast<BlockState*>(currentBlock().previous().userData()); p && p->language == language)
        previous = p->state;
    auto* mine = new BlockState;
    mine->state = highlightLine(text, previous);
    mine->language = language;
    setCurrentBlockUserData(mine);
}

void CodeBlockHighlighter::applyFormat(int offset, int length, const KSyntaxHighlighting::Format& format) {
    if (format.isDefaultTextStyle(theme())) return;
    QTextCharFormat tf;
    if (format.hasTextColor(theme())) tf.setForeground(format.textColor(theme()));
    if (format.hasBackgroundColor(theme())) tf.setBackground(format.backgroundColor(theme()));
    if (format.isBold(theme())) tf.setFontWeight(QFont::Bold);
    if (format.isItalic(theme())) tf.setFontItalic(true);
    setFormat(offset, length, tf);
}

}  // namespace phidesk::ui
