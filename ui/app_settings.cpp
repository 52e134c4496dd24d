#include "app_settings.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QSettings>
#include <QStandardPaths>

#include <nlohmann/json.hpp>

#include "phidesk/error.h"
#include "phidesk/hub.h"

namespace phidesk::ui {
namespace {

QString jobKey(Job job) { return QStringLiteral("sampling/") + QString::fromLatin1(job_name(job)) + QLatin1Char('/'); }

}  // namespace

AppSettings::AppSettings(QObject* parent) : QObject(parent) {}

QString AppSettings::modelPath() const {
    const QString p = QSettings().value(QStringLiteral("model/path")).toString();
    return p.isEmpty() ? bundledDemoModel() : p;
}

bool AppSettings::hasConfiguredModel() const { return !QSettings().value(QStringLiteral("model/path")).toString().isEmpty(); }

QString AppSettings::hubUrl() const {
    return QSettings().value(QStringLiteral("model/hub"), QString::fromStdString(default_hub_url())).toString();
}

void AppSettings::setHubUrl(const QString& url) {
    QSettings().setValue(QStringLiteral("model/hub"), url);
    emit changed();
}

QString AppSettings::modelsFolder() const {
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/models");
}

void AppSettings::setModelPath(const QString& path) {
    QSettings().setValue(QStringLiteral("model/path"), path);
    emit changed();
}

QString AppSettings::backend() const { return QSettings().value(QStringLiteral("engine/backend"), QStringLiteral("auto")).toString(); }
void AppSettings::setBackend(const QString& b) { QSettings().setValue(QStringLiteral("engine/backend"), b); emit changed(); }
int AppSettings::threads() const { return QSettings().value(QStringLiteral("engine/threads"), 0).toInt(); }
void AppSettings::setThreads(int n) { QSettings().setValue(QStringLiteral("engine/threads"), n); emit changed(); }
QString AppSettings::kvCache() const { return QSettings().value(QStringLiteral("engine/kv_cache"), QStringLiteral("f32")).toString(); }
void AppSettings::setKvCache(const QString& type) { QSettings().setValue(QStringLiteral("engine/kv_cache"), type); emit changed(); }

GenerationSettings AppSettings::generation(Job job) const {
    QSettings s;
    const QString k = jobKey(job);
    GenerationSettings g;
    g.sampling = default_sampling(job);
    g.sampling.temperature = s.value(k + QStringLiteral("temperature"), g.sampling.temperature).toFloat();
    g.sampling.top_k = s.value(k + QStringLiteral("top_k"), g.sampling.top_k).toInt();
    g.sampling.top_p = s.value(k + QStringLiteral("top_p"), g.sampling.top_p).toFloat();
    g.sampling.min_p = s.value(k + QStringLiteral("min_p"), g.sampling.min_p).toFloat();
    g.sampling.repeat_penalty = s.value(k + QStringLiteral("repeat_penalty"), g.sampling.repeat_penalty).toFloat();
    g.sampling.seed = s.value(k + QStringLiteral("seed"), 0).toULongLong();
    g.max_new_tokens = s.value(k + QStringLiteral("max_new_tokens"), job == Job::Summary ? 200 : 512).toInt();
    return g;
}

void AppSettings::setGeneration(Job job, const GenerationSettings& g) {
    QSettings s;
    const QString k = jobKey(job);
    s.setValue(k + QStringLiteral("temperature"), g.sampling.temperature);
    s.setValue(k + QStringLiteral("top_k"), g.sampling.top_k);
    s.setValue(k + QStringLiteral("top_p"), g.sampling.top_p);
    s.setValue(k + QStringLiteral("min_p"), g.sampling.min_p);
    s.setValue(k + QStringLiteral("repeat_penalty"), g.sampling.repeat_penalty);
    s.setValue(k + QStringLiteral("max_new_tokens"), g.max_new_tokens);
    emit changed();
}

QString AppSettings::promptFormatJson() const {
    return QSettings().value(QStringLiteral("prompt/format")).toString();
}

PromptFormat AppSettings::promptFormat() const {
    return promptFormatFromJson(promptFormatJson());
}

PromptFormat promptFormatFromJson(const QString& text) {
    if (text.trimmed().isEmpty()) return {};
    const nlohmann::json j = nlohmann::json::parse(text.toStdString(), nullptr, false);
    if (j.is_discarded()) throw Error("the prompt format is not valid JSON");
    return PromptFormat::from_json(j);   // throws naming a bad field
}

void AppSettings::setPromptFormatJson(const QString& text) {
    promptFormatFromJson(text);   // validate before storing
    QSettings().setValue(QStringLiteral("prompt/format"), text.trimmed());
    emit changed();
}

QString AppSettings::databasePath() const {
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    QDir().mkpath(dir);
    return dir + QStringLiteral("/conversations.sqlite");
}

QString bundledDemoModel() {
    // Installed: <prefix>/share/phidesk/models; in the build tree: the source's resources/models.
    const QString app = QCoreApplication::applicationDirPath();
    for (const QString& candidate : {app + QStringLiteral("/../share/phidesk/models/phi-demo.phz"),
                                     QStringLiteral(PHIDESK_SOURCE_DIR "/resources/models/phi-demo.phz")})
        if (QFileInfo::exists(candidate)) return QFileInfo(candidate).canonicalFilePath();
    return {};
}

}  // namespace phidesk::ui
