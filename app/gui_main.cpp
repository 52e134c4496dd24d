// phidesk: the desktop application.
#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QTimer>

#include <cstdio>
#include <cstring>

#include "main_window.h"
#include "translations.h"
#include "phidesk/version.h"

int main(int argc, char** argv) {
    // Answered before QApplication exists, so that it works without a display (packaging checks).
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--version") == 0 || std::strcmp(argv[i], "-v") == 0) {
            std::printf("phidesk %s\n", phidesk::kPhideskVersion);
            return 0;
        }
    QApplication app(argc, argv);
    phidesk::ui::installTranslations();
    QApplication::setApplicationName(QStringLiteral("phidesk"));
    QApplication::setOrganizationName(QStringLiteral("PhiDesk"));
    QApplication::setApplicationDisplayName(QStringLiteral("PhiDesk"));
    QApplication::setApplicationVersion(QString::fromLatin1(phidesk::kPhideskVersion));
    QApplication::setDesktopFileName(QStringLiteral("io.github.phidesk.PhiDesk"));
    QApplication::setWindowIcon(QIcon::fromTheme(QStringLiteral("io.github.phidesk.PhiDesk")));
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Local desktop assistant for Microsoft's Phi models"));
    parser.addHelpOption();
    parser.addVersionOption();   // listed in --help; answered above
    parser.addPositionalArgument(QStringLiteral("model"), QStringLiteral("A .phz file or Hugging Face folder to open"), QStringLiteral("[model]"));
    parser.process(app);

    phidesk::ui::MainWindow window;
    window.show();
    const QString model = parser.positionalArguments().value(0);
    QTimer::singleShot(0, &window, [&window, model] { window.start(model); });
    return app.exec();
}
