#include "chat_page.h"

#include <QApplication>
#include <QClipboard>
#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QVBoxLayout>

#include "chat_controller.h"
#include "conversation_store.h"
#include "markdown_view.h"

namespace phidesk::ui {

ChatPage::ChatPage(ChatController& chat, ConversationStore& store, KSyntaxHighlighting::Repository& repo, QWidget* parent)
    : QWidget(parent), chat_(chat), store_(store) {
    search_ = new QLineEdit;
    search_->setPlaceholderText(tr("Search conversations"));
    search_->setClearButtonEnabled(true);
    list_ = new QListWidget;
    auto* newButton = new QPushButton(tr("New"));
    auto* renameButton = new QPushButton(tr("Rename"));
    auto* deleteButton = new QPushButton(tr("Delete"));
    auto* exportButton = new QPushButton(tr("Export…"));
    auto* listButtons = new QHBoxLayout;
    for (QPushButton* b : {newButton, renameButton, deleteButton, exportButton}) listButtons->addWidget(b);
    auto* left = new QWidget;
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->addWidget(search_);
    leftLayout->addWidget(list_);
    leftLayout->addLayout(listButtons);

    view_ = new MarkdownView(repo);
    notice_ = new QLabel;
    notice_->setWordWrap(true);
    notice_->hide();
    input_ = new QPlainTextEdit;
    input_->setPlaceholderText(tr("Message (Ctrl+Enter to send)"));
    input_->setMaximumHeight(120);
    send_ = new QPushButton(tr("Send"));
    stop_ = new QPushButton(tr("Stop"));
    regenerate_ = new QPushButton(tr("Regenerate"));
    edit_ = new QPushButton(tr("Edit last"));
    stop_->setEnabled(false);
    auto* inputButtons = new QHBoxLayout;
    inputButtons->addStretch();
    for (QPushButton* b : {edit_, regenerate_, stop_, send_}) inputButtons->addWidget(b);
    auto* right = new QWidget;
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->addWidget(view_, 1);
    rightLayout->addWidget(notice_);
    rightLayout->addWidget(input_);
    rightLayout->addLayout(inputButtons);

    auto* split = new QSplitter;
    split->addWidget(left);
    split->addWidget(right);
    split->setStretchFactor(1, 3);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(split);

    connect(send_, &QPushButton::clicked, this, &ChatPage::send);
    connect(stop_, &QPushButton::clicked, &chat_, &ChatController::stop);
    connect(regenerate_, &QPushButton::clicked, &chat_, &ChatController::regenerate);
    connect(edit_, &QPushButton::clicked, this, &ChatPage::editLast);
    connect(newButton, &QPushButton::clicked, this, &ChatPage::newConversation);
    connect(renameButton, &QPushButton::clicked, this, &ChatPage::renameSelected);
    connect(deleteButton, &QPushButton::clicked, this, &ChatPage::deleteSelected);
    connect(exportButton, &QPushButton::clicked, this, &ChatPage::exportConversation);
    connect(search_, &QLineEdit::textChanged, this, &ChatPage::refreshList);
    connect(&store_, &ConversationStore::conversationsChanged, this, &ChatPage::refreshList);
    connect(list_, &QListWidget::currentItemChanged, this, [this](QListWidgetItem* item) {
        if (item && item->data(Qt::UserRole).toLongLong() != chat_.current()) chat_.open(item->data(Qt::UserRole).toLongLong());
    });
    connect(&chat_, &ChatController::changed, this, [this] { view_->setMarkdownText(chat_.markdown()); });
    connect(&chat_, &ChatController::generatingChanged, this, [this](bool busy) {
        stop_->setEnabled(busy);
        for (QPushButton* b : {send_, regenerate_, edit_}) b->setEnabled(!busy);
        if (busy) notice_->hide();
    });
    connect(&chat_, &ChatController::notice, this, [this](const QString& m) { notice_->setText(m), notice_->show(); });
    connect(&chat_, &ChatController::error, this, [this](const QString& m) { notice_->setText(tr("Error: %1").arg(m)), notice_->show(); });
    refreshList();
}

void ChatPage::send() {
    const QString text = input_->toPlainText();
    if (text.trimmed().isEmpty() || chat_.generating()) return;
    input_->clear();
    chat_.send(text);
}

void ChatPage::newConversation() {
    chat_.newConversation();
    list_->setCurrentItem(nullptr);
    input_->setFocus();
}

void ChatPage::copyLastAnswer() {
    QApplication::clipboard()->setText(chat_.lastAnswer());
}

void ChatPage::refreshList() {
    const QSignalBlocker block(list_);
    list_->clear();
    for (const Conversation& c : store_.conversations(search_->text())) {
        auto* item = new QListWidgetItem(c.title, list_);
        item->setData(Qt::UserRole, c.id);
        item->setToolTip(c.updated.toString());
        if (c.id == chat_.current()) list_->setCurrentItem(item);
    }
}

void ChatPage::renameSelected() {
    QListWidgetItem* item = list_->currentItem();
    if (!item) return;
    bool ok = false;
    const QString title = QInputDialog::getText(this, tr("Rename conversation"), tr("Title:"), QLineEdit::Normal, item->text(), &ok);
    if (ok && !title.trimmed().isEmpty()) store_.renameConversation(item->data(Qt::UserRole).toLongLong(), title.trimmed());
}

void ChatPage::deleteSelected() {
    QListWidgetItem* item = list_->currentItem();
    if (!item) return;
    if (QMessageBox::question(this, tr("Delete conversation"), tr("Delete “%1”?").arg(item->text())) != QMessageBox::Yes) return;
    const qint64 id = item->data(Qt::UserRole).toLongLong();
    if (id == chat_.current()) chat_.newConversation();
    store_.deleteConversation(id);
}

void ChatPage::exportConversation() {
    if (chat_.current() == 0) return;
    const QString path = QFileDialog::getSaveFileName(this, tr("Export conversation"), QString(), tr("Markdown (*.md)"));
    if (path.isEmpty()) return;
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(store_.exportMarkdown(chat_.current()).toUtf8()) < 0)
        QMessageBox::warning(this, tr("Export"), tr("Cannot write %1: %2").arg(path, f.errorString()));
}

void ChatPage::editLast() {
    bool ok = false;
    const QString text = QInputDialog::getMultiLineText(this, tr("Edit and resend"), tr("Message:"), chat_.lastUserMessage(), &ok);
    if (ok) chat_.editLastAndResend(text);
}

}  // namespace phidesk::ui
