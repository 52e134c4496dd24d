// A local stand-in for the Hugging Face hub, on 127.0.0.1, serving one folder as a model
// repository with the hub's URL layout:
//   GET /api/models/{repo}/tree/main?recursive=true   file list (LFS entries with SHA-256)
//   GET /{repo}/resolve/main/{path}                     302 to /cdn/{path}, like the hub
//   GET /cdn/{path}                                     the bytes, with HTTP Range support
// Faults for the tests: drop the connection after N bytes of a file, serve a file with one
// byte changed or slowly, list a wrong size or an extra file name. It runs in its own thread with blocking sockets.
#pragma once
#include <QCryptographicHash>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMutex>
#include <QSemaphore>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>

#include <filesystem>

namespace test {

class HubServer : public QThread {
public:
    HubServer(QString repo, std::filesystem::path dir) : repo_(std::move(repo)), dir_(std::move(dir)) {
        start();
        ready_.acquire();
    }
    ~HubServer() override {
        requestInterruption();
        wait();
    }
    QString base_url() const { return QStringLiteral("http://127.0.0.1:%1").arg(port_); }

    void drop_after(const QString& file, qint64 bytes) { QMutexLocker l(&m_); drop_[file] = bytes; }   // once
    void corrupt(const QString& file) { QMutexLocker l(&m_); corrupt_ = file; }
    void slow_down(const QString& file) { QMutexLocker l(&m_); slow_ = file; }   // ~30 MB/s, so a run can be cancelled midway
    void list_extra(const QJsonObject& entry) { QMutexLocker l(&m_); extra_.append(entry); }
    void misstate_size(const QString& file, qint64 delta) { QMutexLocker l(&m_); size_delta_[file] = delta; }   // in the listing
    // "GET <target> [Range: ...]" of every request so far.
    QStringList requests() const { QMutexLocker l(&m_); return log_; }

protected:
    void run() override {
        QTcpServer server;
        server.listen(QHostAddress::LocalHost, 0);
        port_ = server.serverPort();
        ready_.release();
        while (!isInterruptionRequested())
            if (server.waitForNewConnection(50)) {
                QTcpSocket* s = server.nextPendingConnection();
                serve(*s);
                delete s;
            }
    }

private:
    void serve(QTcpSocket& s) {
        QByteArray head;
        while (!head.contains("\r\n\r\n") && s.waitForReadyRead(5000)) head += s.readAll();
        const QList<QByteArray> lines = head.split('\n');
        const QList<QByteArray> first = lines.value(0).trimmed().split(' ');
        const QString target = QString::fromUtf8(first.value(1));
        qint64 from = 0;
        QString range;
        for (const QByteArray& l : lines)
            if (l.toLower().startsWith("range: bytes=")) {
                range = QString::fromUtf8(l.trimmed());
                from = l.mid(13).split('-').value(0).trimmed().toLongLong();
            }
        { QMutexLocker l(&m_); log_ << QStringLiteral("GET %1 %2").arg(target, range).trimmed(); }

        const QString tree = QStringLiteral("/api/models/%1/tree/main?recursive=true").arg(repo_);
        const QString resolve = QStringLiteral("/%1/resolve/main/").arg(repo_);
        if (target == tree) return reply(s, "200 OK", "application/json", listing());
        if (target.startsWith(resolve))
            return reply(s, "302 Found", "text/plain", {}, "Location: /cdn/" + target.mid(resolve.size()).toUtf8() + "\r\n");
        if (target.startsWith(QStringLiteral("/cdn/"))) return send_file(s, target.mid(5), from);
        reply(s, "404 Not Found", "text/plain", "Repository not found");
    }

    QByteArray listing() {
        QJsonArray files;
        for (const auto& e : std::filesystem::directory_iterator(dir_)) {
            const QString name = QString::fromStdString(e.path().filename().string());
            const QByteArray bytes = content(name);
            qint64 size = bytes.size();
            {
                QMutexLocker l(&m_);
                size += size_delta_.value(name, 0);
            }
            QJsonObject f{{"type", "file"}, {"path", name}, {"size", double(size)}, {"oid", "0000"}};
            if (name.endsWith(".safetensors") || name == "tokenizer.json") {   // LFS files, as on the hub
                QFile real(QString::fromStdString(e.path().string()));
                real.open(QIODevice::ReadOnly);
                const QByteArray sha = QCryptographicHash::hash(real.readAll(), QCryptographicHash::Sha256).toHex();
                f["lfs"] = QJsonObject{{"oid", QString::fromLatin1(sha)}, {"size", double(size)}, {"pointerSize", 134}};
            }
            files.append(f);
        }
        QMutexLocker l(&m_);
        for (const QJsonObject& e : extra_) files.append(e);
        return QJsonDocument(files).toJson(QJsonDocument::Compact);
    }

    // The bytes served for a file: the real ones, or with one byte changed when it is `corrupt_`.
    QByteArray content(const QString& name) {
        QFile f(QString::fromStdString((dir_ / name.toStdString()).string()));
        if (!f.open(QIODevice::ReadOnly)) return {};
        QByteArray bytes = f.readAll();
        QMutexLocker l(&m_);
        if (name == corrupt_ && !bytes.isEmpty()) bytes[bytes.size() / 2] = char(bytes[bytes.size() / 2] ^ 0x5A);
        return bytes;
    }

    void send_file(QTcpSocket& s, const QString& name, qint64 from) {
        const QByteArray bytes = content(name);
        if (bytes.isEmpty()) return reply(s, "404 Not Found", "text/plain", "Entry not found");
        if (from >= bytes.size()) return reply(s, "416 Range Not Satisfiable", "text/plain", {});
        qint64 drop = -1;
        bool slow = false;
        {
            QMutexLocker l(&m_);
            if (drop_.contains(name)) drop = drop_.take(name);
            slow = name == slow_;
        }
        QByteArray head = from > 0 ? "HTTP/1.1 206 Partial Content\r\n" : "HTTP/1.1 200 OK\r\n";
        if (from > 0) head += QStringLiteral("Content-Range: bytes %1-%2/%3\r\n").arg(from).arg(bytes.size() - 1).arg(bytes.size()).toUtf8();
        head += "Content-Length: " + QByteArray::number(bytes.size() - from) + "\r\nConnection: close\r\n\r\n";
        s.write(head);
        const qint64 end = drop >= 0 ? std::min<qint64>(from + drop, bytes.size()) : bytes.size();
        for (qint64 at = from; at < end && s.state() == QAbstractSocket::ConnectedState; at += 1 << 16) {
            s.write(bytes.constData() + at, std::min<qint64>(1 << 16, end - at));
            s.waitForBytesWritten(5000);
            if (slow) QThread::msleep(2);
        }
        if (drop >= 0) s.abort();   // the connection breaks mid-file
        else s.disconnectFromHost();
        if (s.state() != QAbstractSocket::UnconnectedState) s.waitForDisconnected(5000);
    }

    void reply(QTcpSocket& s, const char* status, const char* type, const QByteArray& body, const QByteArray& extra = {}) {
        s.write("HTTP/1.1 " + QByteArray(status) + "\r\nContent-Type: " + type + "\r\nContent-Length: " +
                QByteArray::number(body.size()) + "\r\n" + extra + "Connection: close\r\n\r\n" + body);
        s.waitForBytesWritten(5000);
        s.disconnectFromHost();
        if (s.state() != QAbstractSocket::UnconnectedState) s.waitForDisconnected(5000);
    }

    const QString repo_;
    const std::filesystem::path dir_;
    quint16 port_ = 0;
    QSemaphore ready_;
    mutable QMutex m_;
    QHash<QString, qint64> drop_, size_delta_;
    QString corrupt_, slow_;
    QList<QJsonObject> extra_;
    QStringList log_;
};

}  // namespace test
