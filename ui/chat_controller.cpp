#include "chat_controller.h"

#include "app_settings.h"

namespace phidesk::ui {

ChatController::ChatController(EngineBridge& engine, ConversationStore& store, AppSettings& settings, QObject* parent)
    : QObject(parent), engine_(engine), store_(store), settings_(settings) {
    connect(&engine_, &EngineBridge::token, this, &ChatController::onToken);
    connect(&engine_, &EngineBridge::generationFinished, this,
            [this](quint64 id, const QString& text, const QString& stop, int left, double, int) { onFinished(id, text, stop, left); });
    connect(&engine_, &EngineBridge::failed, this, &ChatController::onFailed);
}

void ChatController::open(qint64 conversation) {
    if (generating()) stop();
    conversation_ = conversation;
    reload();
    emit changed();
}

void ChatController::reload() {
    messages_ = store_.messages(conversation_);
}

void ChatController::newConversation() {
    open(0);
}

QString ChatController::markdown() const {
    QString md;
    for (const Message& m : messages_) {
        const bool user = m.role == QLatin1String("user");
        md += QStringLiteral("#### %1\n\n%2\n\n").arg(user ? tr("You") : tr("Assistant"), m.text);
        if (!user && !m.complete && m.id != answer_id_) md += tr("*(stopped)*") + QStringLiteral("\n\n");
    }
    return md;
}

QString ChatController::lastUserMessage() const {
    for (auto it = messages_.rbegin(); it != messages_.rend(); ++it)
        if (it->role == QLatin1String("user")) return it->text;
    return {};
}

QString ChatController::lastAnswer() const {
    for (auto it = messages_.rbegin(); it != messages_.rend(); ++it)
        if (it->role == QLatin1String("assistant")) return it->text;
    return {};
}

void ChatController::send(const QString& text) {
    if (text.trimmed().isEmpty() || generating()) return;
    if (conversation_ == 0) conversation_ = store_.createConversation(text.simplified().left(48));
    store_.addMessage(conversation_, QStringLiteral("user"), text);
    ask(text);
}

// Starts the answer to the last user message `text`, with the earlier turns as history.
void ChatController::ask(const QString& text) {
    History history;
    QString pendingUser;
    reload();
    for (int i = 0; i + 1 < messages_.size(); ++i) {   // all but the new user message
        if (messages_[i].role == QLatin1String("user")) pendingUser = messages_[i].text;
        else history.append({pendingUser, messages_[i].text});
    }
    answer_.clear();
    answer_id_ = store_.addMessage(conversation_, QStringLiteral("assistant"), QString(), false);
    messages_.append({answer_id_, QStringLiteral("assistant"), QString(), false});
    request_ = engine_.chat(QString(), history, text, settings_.generation(Job::Chat), settings_.promptFormatJson());
    emit generatingChanged(true);
    emit changed();
}

void ChatController::stop() {
    if (generating()) engine_.cancel();
}

void ChatController::regenerate() {
    if (generating()) return;
    const QVector<Message> all = messages_;
    if (all.size() < 2 || all.last().role != QLatin1String("assistant")) return;
    store_.truncateFrom(conversation_, all.last().id);
    ask(all[all.size() - 2].text);
}

void ChatController::editLastAndResend(const QString& text) {
    if (generating() || text.trimmed().isEmpty()) return;
    const QVector<Message> all = messages_;
    for (int i = all.size() - 1; i >= 0; --i) {
        if (all[i].role != QLatin1String("user")) continue;
        store_.truncateFrom(conversation_, all[i].id);
        store_.addMessage(conversation_, QStringLiteral("user"), text);
        ask(text);
        return;
    }
}

void ChatController::onToken(quint64 id, const QString& delta) {
    if (id != request_) return;
    answer_ += delta;
    messages_.last().text = answer_;
    store_.updateMessage(answer_id_, answer_, false);   // saved per token: a crash keeps the answer so far
    emit changed();
}

void ChatController::onFinished(quint64 id, const QString& text, const QString& stop, int turnsLeftOut) {
    if (id != request_) return;
    QString reply = text;
    if (reply.startsWith(QLatin1Char(' '))) reply.remove(0, 1);   // the template's space after "Assistant:"
    store_.updateMessage(answer_id_, reply, stop != QLatin1String("cancelled"));
    messages_.last().text = reply;
    messages_.last().complete = stop != QLatin1String("cancelled");
    request_ = 0;
    answer_id_ = 0;
    if (turnsLeftOut > 0)
        emit notice(tr("The conversation is longer than the model's context: the %n oldest turn(s) were left out of this answer.",
                       nullptr, turnsLeftOut));
    if (stop == QLatin1String("context_full")) emit notice(tr("The answer stopped because the context is full."));
    emit generatingChanged(false);
    emit changed();
}

void ChatController::onFailed(quint64 id, const QString& message) {
    if (id != request_) return;
    store_.updateMessage(answer_id_, answer_, false);
    messages_.last().complete = false;
    request_ = 0;
    answer_id_ = 0;
    emit generatingChanged(false);
    emit error(message);
    emit changed();
}

}  // namespace phidesk::ui
