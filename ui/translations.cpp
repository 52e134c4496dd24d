#include "translations.h"

#include <QCoreApplication>
#include <QLibraryInfo>
#include <QTranslator>

namespace phidesk::ui {

bool installTranslations(const QLocale& locale) {
    auto* qt = new QTranslator(QCoreApplication::instance());   // standard dialogs and buttons
    if (qt->load(locale, QStringLiteral("qtbase"), QStringLiteral("_"), QLibraryInfo::path(QLibraryInfo::TranslationsPath)))
        QCoreApplication::installTranslator(qt);
    auto* app = new QTranslator(QCoreApplication::instance());
    if (!app->load(locale, QStringLiteral("phidesk"), QStringLiteral("_"), QStringLiteral(":/i18n"))) return false;
    return QCoreApplication::installTranslator(app);
}

}  // namespace phidesk::ui
