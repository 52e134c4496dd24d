// Drives the app through one chat, one code completion and one summary with the demo model
// and saves a PNG of each workspace. Run by tests/screenshots.sh (under Xvfb), not by CTest.
#include <QApplication>
#include <QSettings>
#include <QDir>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScreen>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTest>
#include <QTextCursor>

#include "chat_controller.h"
#include "chat_page.h"
#include "code_page.h"
#include "engine_bridge.h"
#include "main_window.h"
#include "summarize_page.h"

using namespace phidesk::ui;

static void shoot(QWidget& w, const QString& file) {
    QTest::qWait(300);
    const QPixmap shot = w.grab();
    if (!shot.save(file)) qFatal("cannot write %s", qPrintable(file));
    std::printf("wrote %s\n", qPrintable(file));
}

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QStandardPaths::setTestModeEnabled(true);
    QApplication::setOrganizationName(QStringLiteral("PhiDeskScreenshots"));
    const QString out = argc > 1 ? QString::fromLocal8Bit(argv[1]) : QStringLiteral("screenshots");
    QDir().mkpath(out);
    QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)).removeRecursively();
    QSettings().clear();   // a first run

    MainWindow w;
    w.resize(1200, 800);
    w.show();
    QSignalSpy loaded(&w.engine(), &EngineBridge::modelLoaded);
    w.start();   // first run: the welcome page
    if (!loaded.wait(30000)) qFatal("the demo model did not load");
    shoot(w, out + QStringLiteral("/welcome.png"));
    w.loadModel(QStringLiteral(PHIDESK_SOURCE_DIR "/resources/models/phi-demo.phz"));
    if (!loaded.wait(30000)) qFatal("the demo model did not load");

    QSignalSpy chatDone(&w.chat(), &ChatController::generatingChanged);
    for (const char* message : {"Hi! Who are you?", "What is Phi-2?"}) {
        chatDone.clear();
        QTest::keyClicks(w.chatPage()->input(), QString::fromUtf8(message));
        QTest::mouseClick(w.chatPage()->sendButton(), Qt::LeftButton);
        while (w.chat().generating() || chatDone.isEmpty()) chatDone.wait(30000);
    }
    shoot(w, out + QStringLiteral("/chat.png"));

    w.tabs()->setCurrentWidget(w.codePage());
    QPlainTextEdit* editor = w.codePage()->editor();
    editor->setPlainText(QStringLiteral("// Returns true if n is a prime number.\nbool is_prime(int n) {"));
    editor->moveCursor(QTextCursor::End);
    QSignalSpy suggested(w.codePage(), &CodePage::suggestionFinished);
    w.codePage()->completeAtCursor();
    suggested.wait(30000);
    shoot(w, out + QStringLiteral("/code.png"));

    w.tabs()->setCurrentWidget(w.summarizePage());
    w.summarizePage()->input()->setPlainText(QStringLiteral(
        "Small language models are neural networks with a few hundred million to a few billion parameters, far fewer than "
        "the largest models of recent years. Their appeal is practical: they need less memory, answer faster and can run on "
        "a laptop or even a phone instead of a data center. Keeping the data on the user's own device also helps privacy. "
        "Research such as Microsoft's Phi series suggests that the quality of the training data matters as much as raw size. "
        "By training on carefully filtered web pages and synthetic text written in the style of textbooks, a model with 2.7 "
        "billion parameters can rival much larger ones on reasoning and coding tests.\n\nSmall models still have clear limits. "
        "They store fewer facts, make more mistakes on long or unusual questions, and can state wrong answers with confidence, "
        "so their output should be checked. For many everyday tasks, such as drafting text, summarizing notes or completing "
        "code, a small model running locally is fast, cheap and good enough."));
    QSignalSpy summarized(w.summarizePage(), &SummarizePage::finished);
    w.summarizePage()->run();
    summarized.wait(60000);
    shoot(w, out + QStringLiteral("/summarize.png"));
    return 0;
}
