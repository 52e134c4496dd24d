// The desktop app, driven as a user would (offscreen): chat round trips against the demo model,
// persistence across restarts and a SIGKILL, highlighting, a responsive GUI thread, summaries.
#include <QApplication>
#include <QElapsedTimer>
#include <QPlainTextEdit>
#include <QProcess>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QTextBlock>
#include <QTextLayout>

#include <csignal>
#include <thread>

#include <QCheckBox>
#include <QFileInfo>
#include <QLabel>
#include <QComboBox>
#include <QLineEdit>
#include <QSettings>
#include <QTranslator>

#include "app_settings.h"
#include "chat_controller.h"
#include "chat_page.h"
#include "code_page.h"
#include "conversation_store.h"
#include "engine_bridge.h"
#include "main_window.h"
#include "markdown_view.h"
#include "model_bar.h"
#include "hub_server.h"
#include "summarize_page.h"
#include "test_support.h"
#include "phidesk/hub.h"
#include "translations.h"
#include "welcome_page.h"

using namespace phidesk::ui;
using nlohmann::json;

namespace {

const QString kDemo = QStringLiteral(PHIDESK_SOURCE_DIR "/resources/models/phi-demo.phz");

bool loadDemo(MainWindow& w, const QString& path = kDemo) {
    QSignalSpy loaded(&w.engine(), &EngineBridge::modelLoaded);
    QSignalSpy progress(&w.engine(), &EngineBridge::loadProgress);
    w.loadModel(path);
    // A .phz load reports its progress up to 100% before it is loaded.
    return loaded.wait(30000) && !progress.isEmpty() && progress.last().at(0).toDouble() == 1.0;
}

// Types `text` into the chat input, sends it, waits for the answer; returns the tokens streamed.
int chatTurn(MainWindow& w, const QString& text) {
    QSignalSpy tokens(&w.engine(), &EngineBridge::token);
    QSignalSpy done(&w.chat(), &ChatController::generatingChanged);
    w.chatPage()->input()->setFocus();
    QTest::keyClicks(w.chatPage()->input(), text);
    QTest::mouseClick(w.chatPage()->sendButton(), Qt::LeftButton);
    while (w.chat().generating() || done.isEmpty())
        if (!done.wait(30000)) return -1;
    return int(tokens.size());
}

std::vector<json> demoChatCases(const std::string& prefix) {
    std::vector<json> out;
    const json all = json::parse(std::ifstream(test::reference_dir() / "demo" / "cases.json"));
    for (const json& c : all["cases"])
        if (c["name"].get<std::string>().rfind(prefix, 0) == 0) out.push_back(c);
    return out;
}

QString withoutLeadingSpace(const std::string& s) {
    QString q = QString::fromStdString(s);
    return q.startsWith(QLatin1Char(' ')) ? q.mid(1) : q;
}

// Longest gap between ticks of a 10 ms timer while `busy` is true.
qint64 longestGap(const std::function<bool()>& busy) {
    QElapsedTimer clock;
    clock.start();
    qint64 last = 0, worst = 0;
    QTimer tick;
    QObject::connect(&tick, &QTimer::timeout, [&] {
        worst = std::max(worst, clock.elapsed() - last);
        last = clock.elapsed();
    });
    tick.start(10);
    while (busy()) QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 50);
    return worst;
}

// Child mode: answer one message, start a second, stop the GUI thread after 10 saved tokens.
int runChild(const QString& db) {
    MainWindow w(db);
    if (!loadDemo(w)) return 2;
    const auto turns = demoChatCases("chat_phi2_turn");
    if (chatTurn(w, QString::fromStdString(turns[0]["params"]["message"])) < 0) return 3;
    int seen = 0;
    QObject::connect(&w.engine(), &EngineBridge::token, [&] {   // runs after the controller saved the token
        if (++seen != 10) return;
        std::printf("SAVED10\n");
        std::fflush(stdout);
        std::this_thread::sleep_for(std::chrono::seconds(60));   // the parent kills us here
    });
    QTest::keyClicks(w.chatPage()->input(), QString::fromStdString(turns[1]["params"]["message"]));
    QTest::mouseClick(w.chatPage()->sendButton(), Qt::LeftButton);
    QTest::qWait(60000);
    return 4;
}

}  // namespace

class TestApp : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    QString db(const QString& name) { return tmp_.filePath(name); }

private slots:
    // First run: the welcome page, with the demo model loading behind it; choosing the demo
    // opens the workspace.
    void first_run_shows_the_welcome_page() {
        QSettings().remove(QStringLiteral("model/path"));
        MainWindow w(db(QStringLiteral("welcome.sqlite")));
        QSignalSpy loaded(&w.engine(), &EngineBridge::modelLoaded);
        w.start();
        QVERIFY(w.showingWelcome());
        QVERIFY(loaded.wait(30000));
        QVERIFY(w.showingWelcome());   // the background load does not take the page away
        QVERIFY(!AppSettings().hasConfiguredModel());
        auto* demo = w.welcomePage()->findChild<QPushButton*>();
        QVERIFY(demo && demo->text().contains(QStringLiteral("demo")));
        demo->click();
        QVERIFY(loaded.wait(30000));
        QVERIFY(!w.showingWelcome());
        QVERIFY(AppSettings().hasConfiguredModel());
    }

    // The welcome page's download, against a local hub: files, .phz conversion, originals
    // deleted, the model loaded and answering.
    void welcome_page_downloads_converts_and_loads() {
        test::HubServer hub(QStringLiteral("test/phi-demo"), test::reference_dir() / "demo" / "phi-demo");
        hub.drop_after(QStringLiteral("model.safetensors"), 5'000'000);   // and resumes
        QSettings().remove(QStringLiteral("model/path"));
        AppSettings().setHubUrl(hub.base_url());
        QTemporaryDir models;
        MainWindow w(db(QStringLiteral("download.sqlite")));
        QSignalSpy loaded(&w.engine(), &EngineBridge::modelLoaded);
        w.start();
        QVERIFY(loaded.wait(30000));   // the demo, behind the page
        WelcomePage* page = w.welcomePage();
        page->repository()->setEditText(QStringLiteral("test/phi-demo"));
        page->folder()->setText(models.path());
        page->deleteOriginals()->setChecked(true);
        page->downloadButton()->click();
        QVERIFY2(loaded.wait(120000), qPrintable(page->status()->text()));
        const QString phz = models.filePath(QStringLiteral("phi-demo.phz"));
        QCOMPARE(loaded.last().at(0).value<ModelInfo>().path, phz);
        QVERIFY(!w.showingWelcome());
        QVERIFY(!QFileInfo::exists(models.filePath(QStringLiteral("phi-demo"))));   // originals deleted
        QVERIFY(hub.requests().join('\n').contains(QStringLiteral("/cdn/model.safetensors Range: bytes=")));
        const auto qa = demoChatCases("chat_phi2_turn");
        QVERIFY(chatTurn(w, QString::fromStdString(qa[0]["params"]["message"])) > 5);
        QCOMPARE(w.store().messages(w.chat().current()).last().text, withoutLeadingSpace(qa[0]["greedy_text"]));
        AppSettings().setHubUrl(QString::fromStdString(phidesk::default_hub_url()));
    }

    void welcome_page_reports_a_corrupted_download() {
        test::HubServer hub(QStringLiteral("test/phi-demo"), test::reference_dir() / "demo" / "phi-demo");
        hub.corrupt(QStringLiteral("model.safetensors"));
        AppSettings().setHubUrl(hub.base_url());
        QTemporaryDir models;
        MainWindow w(db(QStringLiteral("corrupt.sqlite")));
        w.showWelcome();
        WelcomePage* page = w.welcomePage();
        page->repository()->setEditText(QStringLiteral("test/phi-demo"));
        page->folder()->setText(models.path());
        page->downloadButton()->click();
        QTRY_VERIFY_WITH_TIMEOUT(page->downloadButton()->isEnabled(), 60000);
        QVERIFY2(page->status()->text().contains(QStringLiteral("SHA-256")), qPrintable(page->status()->text()));
        QVERIFY(w.showingWelcome());
        QVERIFY(!QFileInfo::exists(models.filePath(QStringLiteral("phi-demo/model.safetensors"))));
        AppSettings().setHubUrl(QString::fromStdString(phidesk::default_hub_url()));
    }

    // Simplified Chinese: the welcome page and the menus in Chinese (the source text is English).
    void simplified_chinese_translation() {
        QVERIFY(!installTranslations(QLocale(QLocale::German)));   // no German translation: English stays
        QVERIFY(installTranslations(QLocale(QLocale::Chinese, QLocale::China)));
        {
            MainWindow w(db(QStringLiteral("zh.sqlite")));
            w.showWelcome();
            const QString page = w.welcomePage()->findChild<QLabel*>()->text();
            QVERIFY2(page.contains(QStringLiteral("欢迎使用 PhiDesk")), qPrintable(page));
            QCOMPARE(w.welcomePage()->downloadButton()->text(), QStringLiteral("下载并转换(&C)"));
        }
        for (QTranslator* t : QCoreApplication::instance()->findChildren<QTranslator*>()) {
            QCoreApplication::removeTranslator(t);
            delete t;
        }
    }

    void chat_round_trip_against_demo() {
        MainWindow w(db(QStringLiteral("chat.sqlite")));
        QVERIFY(loadDemo(w));
        QVERIFY(w.modelBar()->text().contains(QStringLiteral("demo")));
        for (const std::string prefix : {"chat_phi2_turn", "chat_zstd_turn"}) {
            w.chat().newConversation();
            for (const json& c : demoChatCases(prefix)) {
                const int streamed = chatTurn(w, QString::fromStdString(c["params"]["message"]));
                QVERIFY2(streamed > 5, c["name"].get<std::string>().c_str());   // tokens arrived one by one
                const auto messages = w.store().messages(w.chat().current());
                QVERIFY2(messages.size() >= 2, qPrintable(QString("%1 messages, conversation %2").arg(messages.size()).arg(w.chat().current())));
                QCOMPARE(messages.last().role, QStringLiteral("assistant"));
                QCOMPARE(messages.last().text, withoutLeadingSpace(c["greedy_text"]));
                QVERIFY(messages.last().complete);
            }
            w.chatPage()->view()->renderNow();
            QVERIFY(w.chatPage()->view()->toPlainText().contains(withoutLeadingSpace(demoChatCases(prefix).back()["greedy_text"])));
        }
    }

    void stop_keeps_the_partial_answer() {
        MainWindow w(db(QStringLiteral("stop.sqlite")));
        QVERIFY(loadDemo(w));
        QSignalSpy done(&w.chat(), &ChatController::generatingChanged);
        int seen = 0;
        connect(&w.engine(), &EngineBridge::token, this, [&] {
            if (++seen == 5) QTest::mouseClick(w.chatPage()->stopButton(), Qt::LeftButton);
        });
        QTest::keyClicks(w.chatPage()->input(), QStringLiteral("What is Phi-2?"));
        QTest::mouseClick(w.chatPage()->sendButton(), Qt::LeftButton);
        while (w.chat().generating()) QVERIFY(done.wait(30000));
        const auto messages = w.store().messages(w.chat().current());
        QCOMPARE(messages.size(), 2);
        QVERIFY(!messages.last().complete);
        QVERIFY(!messages.last().text.isEmpty());
        QVERIFY(messages.last().text.size() < 60);   // a part, not the whole answer
    }

    void conversations_survive_restart() {
        const QString path = db(QStringLiteral("restart.sqlite"));
        qint64 id = 0;
        {
            MainWindow w(path);
            QVERIFY(loadDemo(w));
            QVERIFY(chatTurn(w, QStringLiteral("Hi! Who are you?")) > 0);
            id = w.chat().current();
            w.store().renameConversation(id, QStringLiteral("Kept"));
        }
        MainWindow again(path);
        const auto list = again.store().conversations();
        QCOMPARE(list.size(), 1);
        QCOMPARE(list.first().title, QStringLiteral("Kept"));
        QCOMPARE(again.store().messages(id).size(), 2);
        QCOMPARE(again.store().conversations(QStringLiteral("recite")).size(), 1);   // search looks into messages
        QVERIFY(again.store().exportMarkdown(id).contains(QStringLiteral("PhiDesk demo model")));
    }

    void killed_mid_answer_keeps_everything_saved() {
        const QString path = db(QStringLiteral("killed.sqlite"));
        QProcess child;
        child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        child.start(QCoreApplication::applicationFilePath(), {QStringLiteral("--child-chat"), path});
        QVERIFY(child.waitForStarted());
        QElapsedTimer t;
        t.start();
        while (!child.readAllStandardOutput().contains("SAVED10") && t.elapsed() < 60000) child.waitForReadyRead(200);
        QVERIFY(t.elapsed() < 60000);
        ::kill(pid_t(child.processId()), SIGKILL);
        child.waitForFinished();

        ConversationStore store(path);
        QVERIFY(store.isOpen());
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("check"));
            db.setDatabaseName(path);
            QVERIFY(db.open());
            QSqlQuery q(db);
            QVERIFY(q.exec(QStringLiteral("PRAGMA integrity_check")) && q.next());
            QCOMPARE(q.value(0).toString(), QStringLiteral("ok"));
        }
        QSqlDatabase::removeDatabase(QStringLiteral("check"));
        const auto turns = demoChatCases("chat_phi2_turn");
        const auto list = store.conversations();
        QCOMPARE(list.size(), 1);
        const auto m = store.messages(list.first().id);
        QCOMPARE(m.size(), 4);
        QCOMPARE(m[1].text, withoutLeadingSpace(turns[0]["greedy_text"]));   // the earlier answer, whole
        QVERIFY(!m[3].complete);
        QVERIFY(!m[3].text.isEmpty());
        QVERIFY(QString::fromStdString(turns[1]["greedy_text"]).startsWith(m[3].text));   // up to the last saved token
    }

    void highlighting_in_chat_and_editor() {
        KSyntaxHighlighting::Repository repo;
        MarkdownView view(repo);
        view.setMarkdownText(QStringLiteral("Here:\n\n```cpp\n#include <string>\nint main() { return 0; }\n```\n"));
        view.renderNow();
        view.document()->documentLayout();
        int highlighted = 0;
        for (QTextBlock b = view.document()->begin(); b.isValid(); b = b.next())
            if (b.blockFormat().hasProperty(QTextFormat::BlockCodeLanguage) && !b.layout()->formats().isEmpty()) ++highlighted;
        QVERIFY(highlighted >= 1);
        QCOMPARE(view.codeBlocks().size(), 1);
        QVERIFY(view.toPlainText().contains(QStringLiteral("Copy code")));

        MainWindow w(db(QStringLiteral("hl.sqlite")));
        QPlainTextEdit* editor = w.codePage()->editor();
        editor->setPlainText(QStringLiteral("#include <vector>\nint main() { return 42; }\n"));
        QCoreApplication::processEvents();
        QVERIFY(!editor->document()->firstBlock().layout()->formats().isEmpty());
    }

    void gui_thread_stays_responsive() {
        MainWindow w(db(QStringLiteral("resp.sqlite")));
        EngineBridge& e = w.engine();
        // Model load: tiny-phi2 (which never emits EOS) with the phi tokenizer beside it.
        const QString dir = tmp_.filePath(QStringLiteral("tiny-phi2"));
        std::filesystem::create_directories(dir.toStdString());
        for (const char* f : {"config.json", "model.safetensors"})
            test::copy_file(test::model_dir("tiny-phi2") / f, dir.toStdString() + "/" + f);
        test::copy_file(test::reference_dir() / "tokenizer" / "tokenizer.json", dir.toStdString() + "/tokenizer.json");
        QSignalSpy failed(&e, &EngineBridge::modelFailed);
        w.loadModel(dir);
        qint64 gap = longestGap([&] { return e.busy(); });
        qInfo("model load: longest GUI gap %lld ms", gap);
        QVERIFY(gap < 50);
        QVERIFY(failed.isEmpty());
        // A long generation (tiny-phi2 never emits EOS here).
        GenerationSettings s;
        s.max_new_tokens = 300;
        e.complete(QStringLiteral("a b c"), s);
        gap = longestGap([&] { return e.busy(); });
        qInfo("generation of 300 tokens: longest GUI gap %lld ms", gap);
        QVERIFY(gap < 50);
        // A conversion.
        QSignalSpy converted(&e, &EngineBridge::conversionFinished);
        e.convert(QString::fromStdString(test::model_dir("tiny-phi2").string()), tmp_.filePath(QStringLiteral("t.phz")), QStringLiteral("int8"));
        gap = longestGap([&] { return e.busy(); });
        qInfo("conversion: longest GUI gap %lld ms", gap);
        QVERIFY(gap < 50);
        QCOMPARE(converted.size(), 1);
        QCOMPARE(converted.first().at(1).toString(), QString());
    }

    void closing_during_generation_is_clean() {
        auto w = std::make_unique<MainWindow>(db(QStringLiteral("close.sqlite")));
        QVERIFY(loadDemo(*w));
        QSignalSpy tokens(&w->engine(), &EngineBridge::token);
        GenerationSettings s;
        s.max_new_tokens = 2000;
        s.stop_strings = {QStringLiteral("never")};
        w->engine().complete(QStringLiteral("Instruct: What is zstd?\nOutput:"), s);
        QVERIFY(tokens.wait(10000));
        QElapsedTimer t;
        t.start();
        w.reset();   // the window goes while the worker is generating
        qInfo("window destroyed %lld ms after a mid-answer close", t.elapsed());
        QVERIFY(t.elapsed() < 2000);
    }

    void summarize_reaches_n_of_n() {
        MainWindow w(db(QStringLiteral("sum.sqlite")));
        QVERIFY(loadDemo(w));
        SummarizePage* page = w.summarizePage();
        page->openFile(QStringLiteral(PHIDESK_TEST_DATA "/Apache-2.0.txt"));
        QSignalSpy progress(&w.engine(), &EngineBridge::summaryProgress);
        QSignalSpy finished(page, &SummarizePage::finished);
        page->run();
        QVERIFY(finished.wait(120000));
        QCOMPARE(finished.first().first().toBool(), false);
        int chunks = 0, last = 0;
        for (const auto& p : progress)
            if (p.at(1).toInt() == 1) chunks = p.at(3).toInt(), last = p.at(2).toInt();
        QVERIFY(chunks >= 2);
        QCOMPARE(last, chunks);
        QCOMPARE(page->progress()->value(), page->progress()->maximum());
        QVERIFY(!page->resultText().isEmpty());
    }
};

int main(int argc, char** argv) {
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QStandardPaths::setTestModeEnabled(true);
    QApplication::setOrganizationName(QStringLiteral("PhiDeskTest"));
    QApplication::setApplicationName(QStringLiteral("tst_app"));
    if (argc == 3 && QByteArray(argv[1]) == "--child-chat") return runChild(QString::fromLocal8Bit(argv[2]));
    TestApp t;
    return QTest::qExec(&t, argc, argv);
}

#include "tst_app.moc"
