#include "code_page.h"

#include <QComboBox>
#include <QEvent>
#include <QFile>
#include <QFileDialog>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QTextBlock>
#include <QVBoxLayout>

#include <KSyntaxHighlighting/Definition>
#include <KSyntaxHighlighting/SyntaxHighlighter>
#include <KSyntaxHighlighting/Theme>

#include "app_settings.h"
#include "code_block_highlighter.h"
#include "engine_bridge.h"
#include "markdown_view.h"
#include "phidesk/prompt.h"


namespace phidesk::ui {
CodePage::CodePage(EngineBridge& engine, AppSettings& settings, KSyntaxHighlighting::Repository& repo, QWidget* parent)
    : QWidget(parent), engine_(engine), settings_(settings), repo_(repo) {
    editor_ = new QPlainTextEdit;
    editor_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    editor_->setPlaceholderText(tr("Write or open code, put the cursor where code should continue, and press Complete (Ctrl+Space)."));
    highlighter_ = new KSyntaxHighlighting::SyntaxHighlighter(editor_->document());
    highlighter_->setTheme(repo_.themeForPalette(palette()));
    language_ = new QComboBox;
    for (const KSyntaxHighlighting::Definition& d : repo_.definitions())
        if (!d.isHidden()) language_->addItem(d.translatedName(), d.name());
    auto* open = new QPushButton(tr("Open…"));
    complete_ = new QPushButton(tr("Complete at cursor"));
    accept_ = new QPushButton(tr("Accept"));
    reject_ = new QPushButton(tr("Reject"));
    accept_->setEnabled(false);
    reject_->setEnabled(false);
    auto* tools = new QHBoxLayout;
    tools->addWidget(language_);
    tools->addWidget(open);
    tools->addStretch();
    for (QPushButton* b : {complete_, accept_, reject_}) tools->addWidget(b);

    description_ = new QLineEdit;
    description_->setPlaceholderText(tr("Describe the code to write, e.g. “Write a C++ function that reverses a string.”"));
    generate_ = new QPushButton(tr("Generate"));
    insert_ = new QPushButton(tr("Insert at cursor"));
    insert_->setEnabled(false);
    result_ = new MarkdownView(repo_);
    auto* describe = new QHBoxLayout;
    describe->addWidget(description_, 1);
    describe->addWidget(generate_);
    describe->addWidget(insert_);

    auto* top = new QWidget;
    auto* topLayout = new QVBoxLayout(top);
    topLayout->addLayout(tools);
    topLayout->addWidget(editor_);
    auto* bottom = new QWidget;
    auto* bottomLayout = new QVBoxLayout(bottom);
    bottomLayout->addLayout(describe);
    bottomLayout->addWidget(result_);
    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(top);
    split->addWidget(bottom);
    split->setStretchFactor(0, 3);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(split);

    connect(language_, &QComboBox::currentIndexChanged, this, [this] { setLanguage(language_->currentData().toString()); });
    connect(open, &QPushButton::clicked, this, &CodePage::openFile);
    connect(complete_, &QPushButton::clicked, this, &CodePage::completeAtCursor);
    connect(accept_, &QPushButton::clicked, this, &CodePage::acceptSuggestion);
    connect(reject_, &QPushButton::clicked, this, &CodePage::rejectSuggestion);
    connect(generate_, &QPushButton::clicked, this, &CodePage::generateFromDescription);
    connect(description_, &QLineEdit::returnPressed, this, &CodePage::generateFromDescription);
    connect(insert_, &QPushButton::clicked, this, &CodePage::insertResultCode);
    connect(&engine_, &EngineBridge::token, this, [this](quint64 id, const QString& delta) {
        if (id != request_) return;
        if (completing_) {
            QTextCursor c(editor_->document());
            c.setPosition(suggestion_end_);
            c.insertText(delta);
            suggestion_end_ = c.position();
            markSuggestion();
        } else {
            generated_ += delta;
            result_->setMarkdownText(generated_);
        }
    });
    connect(&engine_, &EngineBridge::generationFinished, this, [this](quint64 id) {
        if (id != request_) return;
        request_ = 0;
        complete_->setEnabled(true);
        generate_->setEnabled(true);
        if (completing_) {
            completing_ = false;
            accept_->setEnabled(hasSuggestion());
            reject_->setEnabled(hasSuggestion());
            emit suggestionFinished();
        } else {
            result_->renderNow();
            insert_->setEnabled(!result_->codeBlocks().isEmpty());
            emit generationFinished();
        }
    });
    connect(&engine_, &EngineBridge::failed, this, [this](quint64 id, const QString& message) {
        if (id != request_) return;
        request_ = 0;
        completing_ = false;
        complete_->setEnabled(true);
        generate_->setEnabled(true);
        QMessageBox::warning(this, tr("Code"), message);
    });
    setLanguage(QStringLiteral("C++"));
}

void CodePage::changeEvent(QEvent* e) {
    QWidget::changeEvent(e);
    if (e->type() == QEvent::PaletteChange) {   // follow the system's light/dark switch
        highlighter_->setTheme(repo_.themeForPalette(palette()));
        highlighter_->rehighlight();
    }
}

void CodePage::setLanguage(const QString& name) {
    const KSyntaxHighlighting::Definition d = repo_.definitionForName(name);
    highlighter_->setDefinition(d);
    const QSignalBlocker block(language_);
    language_->setCurrentIndex(language_->findData(d.name()));
}

void CodePage::openFile() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open code"));
    if (path.isEmpty()) return;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        QMessageBox::warning(this, tr("Open"), tr("Cannot read %1: %2").arg(path, f.errorString()));
        return;
    }
    editor_->setPlainText(QString::fromUtf8(f.readAll()));
    const KSyntaxHighlighting::Definition d = repo_.definitionForFileName(path);
    if (d.isValid()) setLanguage(d.name());
}

void CodePage::completeAtCursor() {
    if (request_ || hasSuggestion()) return;
    QTextCursor c = editor_->textCursor();
    suggestion_start_ = suggestion_end_ = c.position();
    c.setPosition(0, QTextCursor::KeepAnchor);
    const QString prefix = c.selectedText().replace(QChar::ParagraphSeparator, QLatin1Char('\n'));
    if (prefix.isEmpty()) return;
    completing_ = true;
    complete_->setEnabled(false);
    request_ = engine_.complete(QString::fromStdString(code_prompt(settings_.promptFormat(), prefix.toStdString())),
                                settings_.generation(Job::Code));
}

// The suggestion keeps the editor's highlighting but sits on a tinted, italic background.
void CodePage::markSuggestion() {
    QTextEdit::ExtraSelection s;
    s.cursor = QTextCursor(editor_->document());
    s.cursor.setPosition(suggestion_start_);
    s.cursor.setPosition(suggestion_end_, QTextCursor::KeepAnchor);
    QColor tint = palette().highlight().color();
    tint.setAlpha(60);
    s.format.setBackground(tint);
    s.format.setFontItalic(true);
    editor_->setExtraSelections(hasSuggestion() ? QList<QTextEdit::ExtraSelection>{s} : QList<QTextEdit::ExtraSelection>{});
}

void CodePage::acceptSuggestion() {
    if (request_) return;
    QTextCursor c = editor_->textCursor();
    c.setPosition(suggestion_end_);
    editor_->setTextCursor(c);
    suggestion_start_ = suggestion_end_ = 0;
    markSuggestion();
    accept_->setEnabled(false);
    reject_->setEnabled(false);
}

void CodePage::rejectSuggestion() {
    if (request_) engine_.cancel();
    QTextCursor c(editor_->document());
    c.setPosition(suggestion_start_);
    c.setPosition(suggestion_end_, QTextCursor::KeepAnchor);
    c.removeSelectedText();
    suggestion_start_ = suggestion_end_ = 0;
    markSuggestion();
    accept_->setEnabled(false);
    reject_->setEnabled(false);
}

void CodePage::generateFromDescription() {
    if (request_ || description_->text().trimmed().isEmpty()) return;
    generated_.clear();
    result_->setMarkdownText(QString());
    insert_->setEnabled(false);
    generate_->setEnabled(false);
    const PromptFormat f = settings_.promptFormat();
    request_ = engine_.complete(QString::fromStdString(phidesk::render(f.code_from_description, {{"question", description_->text().toStdString()}})),
                                settings_.generation(Job::Code));
}

void CodePage::insertResultCode() {
    if (!result_->codeBlocks().isEmpty()) editor_->textCursor().insertText(result_->codeBlocks().first());
}

}  // namespace phidesk::ui
