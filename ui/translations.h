// The app's translations (resources/translations, compiled into the binary) and Qt's own, for a
// locale: English is the source language; Simplified Chinese is translated.
#pragma once
#include <QLocale>

namespace phidesk::ui {

// Installs the translators for `locale` into the application; true when PhiDesk has a
// translation for it. Call once, before any window exists.
bool installTranslations(const QLocale& locale = QLocale());

}  // namespace phidesk::ui
