// The chat workspace's logic: the current conversation, sending, streaming into the store,
// stop, regenerate, edit and resend. Widgets only call these and show what it says.
#pragma once
#include <QObject>

#include "conversation_store.h"
#include "engine_bridge.h"

namespace phidesk::ui {

class AppSettings;

class ChatController : public QObject {
    Q_OBJECT
public:
    ChatController(EngineBridge& engine, ConversationStore& store, AppSettings& settings, QObject* parent = nullptr);

    qint64 current() const { return conversation_; }
    void open(qint64 conversation);
    void newConversation();
    void send(const QString& text);
    void stop();
    void regenerate();                          // drop the last answer and ask again
    void editLastAndResend(const QString& text); // replace the last user message and everything after it
    QString lastUserMessage() const;
    QString lastAnswer() const;
    bool generating() const { return request_ != 0; }
    QString markdown() const;                    // the conversation, for the view

signals:
    void changed();
    void generatingChanged(bool generating);
    void notice(const QString& message);         // e.g. old turns left out
    void error(const QString& message);

private:
    void ask(const QString& text);
    void onToken(quint64 id, const QString& delta);
    void onFinished(quint64 id, const QString& text, const QString& stop, int turnsLeftOut);
    void onFailed(quint64 id, const QString& message);
    void reload();   // messages_ from the store, after it changed shape

    EngineBridge& engine_;
    ConversationStore& store_;
    AppSettings& settings_;
    qint64 conversation_ = 0;
    QVector<Message> messages_;   // the open conversation; the store is where it persists
    quint64 request_ = 0;
    qint64 answer_id_ = 0;
    QString answer_;
};

}  // namespace phidesk::ui
