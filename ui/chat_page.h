// The Chat workspace: conversation list (new, rename, delete, search, export) and the
// conversation with its input. All logic is in ChatController.
#pragma once
#include <QWidget>

#include <KSyntaxHighlighting/Repository>

class QListWidget;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QLabel;

namespace phidesk::ui {

class ChatController;
class ConversationStore;
class MarkdownView;

class ChatPage : public QWidget {
    Q_OBJECT
public:
    ChatPage(ChatController& chat, ConversationStore& store, KSyntaxHighlighting::Repository& repo, QWidget* parent = nullptr);

    MarkdownView* view() const { return view_; }
    QPlainTextEdit* input() const { return input_; }
    QPushButton* sendButton() const { return send_; }
    QPushButton* stopButton() const { return stop_; }

public slots:
    void send();
    void newConversation();
    void copyLastAnswer();

private:
    void refreshList();
    void renameSelected();
    void deleteSelected();
    void exportConversation();
    void editLast();

    ChatController& chat_;
    ConversationStore& store_;
    QLineEdit* search_;
    QListWidget* list_;
    MarkdownView* view_;
    QPlainTextEdit* input_;
    QPushButton *send_, *stop_, *regenerate_, *edit_;
    QLabel* notice_;
};

}  // namespace phidesk::ui
