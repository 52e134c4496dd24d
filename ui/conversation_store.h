// Conversations and their messages in SQLite (Qt SQL, WAL mode): every change is committed at
// once, so a crash or a kill leaves every earlier message and the answer up to its last token.
#pragma once
#include <QDateTime>
#include <QObject>
#include <QString>
#include <QVector>

namespace phidesk::ui {

struct Conversation {
    qint64 id = 0;
    QString title;
    QDateTime updated;
};

struct Message {
    qint64 id = 0;
    QString role;      // "user" or "assistant"
    QString text;
    bool complete = true;   // false: an answer that was stopped or is still streaming
};

class ConversationStore : public QObject {
    Q_OBJECT
public:
    // Opens (creating if needed) the database at `path`. On failure isOpen() is false and
    // errorString() says why; the app then shows it and keeps working without history.
    explicit ConversationStore(const QString& path, QObject* parent = nullptr);
    ~ConversationStore() override;

    bool isOpen() const { return open_; }
    QString errorString() const { return error_; }
    QString path() const { return path_; }

    // Newest first; `filter` matches titles and message text (case-insensitive).
    QVector<Conversation> conversations(const QString& filter = {}) const;
    qint64 createConversation(const QString& title);
    void renameConversation(qint64 id, const QString& title);
    void deleteConversation(qint64 id);

    QVector<Message> messages(qint64 conversation) const;
    qint64 addMessage(qint64 conversation, const QString& role, const QString& text, bool complete = true);
    void updateMessage(qint64 id, const QString& text, bool complete);
    // Removes message `id` and everything after it in its conversation (regenerate, edit and resend).
    void truncateFrom(qint64 conversation, qint64 id);
    QString exportMarkdown(qint64 conversation) const;

signals:
    void conversationsChanged();

private:
    bool exec(const QString& sql, const QVariantList& args = {}, qint64* insertId = nullptr) const;
    void touch(qint64 conversation);

    QString connection_, path_, error_;
    bool open_ = false;
};

}  // namespace phidesk::ui
