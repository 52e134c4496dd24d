// phidesk: the desktop application.
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include <cstdio>

#include "app_settings.h"
#include "main_window.h"
#include "phidesk/version.h"

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("phidesk"));
    QApplication::setOrganizationName(QStringLiteral("PhiDesk"));
    QApplication::setApplicationDisplayName(QStringLiteral("PhiDesk"));
    QApplication::setApplicationVersion(QString::fromLatin1(phidesk::kPhideskVersion));
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Local desktop assistant for Microsoft's Phi models"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("model"), QStringLiteral("A .phz file or Hugging Face folder to open"), QStringLiteral("[model]"));
    parser.process(app);

    phidesk::ui::MainWindow window;
    window.show();
    const QStringList args = parser.positionalArguments();
    const QString model = args.isEmpty() ? phidesk::ui::AppSettings().modelPath() : args.first();
    QTimer::singleShot(0, &window, [&window, model] { window.loadModel(model); });
    return app.exec();
}
