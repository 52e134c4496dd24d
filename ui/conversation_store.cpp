#include "conversation_store.h"

#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QUuid>
#include <QVariant>

namespace phidesk::ui {
namespace {

// A null QString binds as SQL NULL; an empty text must be stored as ''.
QVariant textValue(const QString& s) {
    return s.isNull() ? QVariant(QStringLiteral("")) : QVariant(s);
}

}  // namespace

ConversationStore::ConversationStore(const QString& path, QObject* parent)
    : QObject(parent), connection_(QUuid::createUuid().toString()), path_(path) {
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), connection_);
    db.setDatabaseName(path);
    if (!db.open()) {
        error_ = tr("Cannot open the conversation database %1: %2").arg(path, db.lastError().text());
        return;
    }
    open_ = exec(QStringLiteral("PRAGMA journal_mode=WAL")) && exec(QStringLiteral("PRAGMA synchronous=NORMAL")) &&
            exec(QStringLiteral("PRAGMA foreign_keys=ON")) &&
            exec(QStringLiteral("CREATE TABLE IF NOT EXISTS conversations (id INTEGER PRIMARY KEY, title TEXT NOT NULL, "
                                "created INTEGER NOT NULL, updated INTEGER NOT NULL)")) &&
            exec(QStringLiteral("CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, conversation INTEGER NOT NULL "
                                "REFERENCES conversations(id) ON DELETE CASCADE, role TEXT NOT NULL, text TEXT NOT NULL, "
                                "complete INTEGER NOT NULL)")) &&
            exec(QStringLiteral("CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation, id)"));
}

ConversationStore::~ConversationStore() {
    QSqlDatabase::database(connection_, false).close();
    QSqlDatabase::removeDatabase(connection_);
}

bool ConversationStore::exec(const QString& sql, const QVariantList& args, qint64* insertId) const {
    QSqlQuery q(QSqlDatabase::database(connection_, false));
    q.prepare(sql);
    for (const QVariant& a : args) q.addBindValue(a);
    if (!q.exec()) {
        const_cast<ConversationStore*>(this)->error_ = q.lastError().text();
        qWarning("conversation store: %s: %s", qPrintable(sql), qPrintable(error_));
        return false;
    }
    if (insertId) *insertId = q.lastInsertId().toLongLong();
    return true;
}

QVector<Conversation> ConversationStore::conversations(const QString& filter) const {
    QVector<Conversation> out;
    if (!open_) return out;
    QSqlQuery q(QSqlDatabase::database(connection_, false));
    q.prepare(QStringLiteral("SELECT id, title, updated FROM conversations c WHERE ? = '' OR title LIKE ? OR EXISTS "
                             "(SELECT 1 FROM messages m WHERE m.conversation = c.id AND m.text LIKE ?) ORDER BY updated DESC, id DESC"));
    const QString like = QLatin1Char('%') + filter + QLatin1Char('%');
    q.addBindValue(filter);
    q.addBindValue(like);
    q.addBindValue(like);
    q.exec();
    while (q.next())
        out.push_back({q.value(0).toLongLong(), q.value(1).toString(), QDateTime::fromMSecsSinceEpoch(q.value(2).toLongLong())});
    return out;
}

qint64 ConversationStore::createConversation(const QString& title) {
    qint64 id = 0;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    exec(QStringLiteral("INSERT INTO conversations (title, created, updated) VALUES (?, ?, ?)"), {title, now, now}, &id);
    emit conversationsChanged();
    return id;
}

void ConversationStore::renameConversation(qint64 id, const QString& title) {
    exec(QStringLiteral("UPDATE conversations SET title = ? WHERE id = ?"), {title, id});
    emit conversationsChanged();
}

void ConversationStore::deleteConversation(qint64 id) {
    exec(QStringLiteral("DELETE FROM conversations WHERE id = ?"), {id});
    emit conversationsChanged();
}

QVector<Message> ConversationStore::messages(qint64 conversation) const {
    QVector<Message> out;
    if (!open_) return out;
    QSqlQuery q(QSqlDatabase::database(connection_, false));
    q.prepare(QStringLiteral("SELECT id, role, text, complete FROM messages WHERE conversation = ? ORDER BY id"));
    q.addBindValue(conversation);
    q.exec();
    while (q.next()) out.push_back({q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString(), q.value(3).toBool()});
    return out;
}

void ConversationStore::touch(qint64 conversation) {
    exec(QStringLiteral("UPDATE conversations SET updated = ? WHERE id = ?"), {QDateTime::currentMSecsSinceEpoch(), conversation});
}

qint64 ConversationStore::addMessage(qint64 conversation, const QString& role, const QString& text, bool complete) {
    qint64 id = 0;
    exec(QStringLiteral("INSERT INTO messages (conversation, role, text, complete) VALUES (?, ?, ?, ?)"),
         {conversation, role, textValue(text), complete}, &id);
    touch(conversation);
    return id;
}

void ConversationStore::updateMessage(qint64 id, const QString& text, bool complete) {
    exec(QStringLiteral("UPDATE messages SET text = ?, complete = ? WHERE id = ?"), {textValue(text), complete, id});
}

void ConversationStore::truncateFrom(qint64 conversation, qint64 id) {
    exec(QStringLiteral("DELETE FROM messages WHERE conversation = ? AND id >= ?"), {conversation, id});
    touch(conversation);
}

QString ConversationStore::exportMarkdown(qint64 conversation) const {
    QString title;
    for (const Conversation& c : conversations())
        if (c.id == conversation) title = c.title;
    QString md = QStringLiteral("# %1\n\n").arg(title);
    for (const Message& m : messages(conversation)) {
        md += QStringLiteral("**%1:**\n\n%2\n\n").arg(m.role == QLatin1String("user") ? tr("You") : tr("Assistant"), m.text);
        if (!m.complete) md += tr("*(answer stopped)*\n\n");
    }
    return md;
}

}  // namespace phidesk::ui
