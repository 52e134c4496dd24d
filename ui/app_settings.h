// The user's settings (QSettings): last model, backend, threads, sampling per job and the
// prompt format. The data lives here; the dialog only edits it.
#pragma once
#include <QObject>
#include <QString>

#include "engine_worker.h"
#include "phidesk/prompt.h"
#include "phidesk/sampler.h"

namespace phidesk::ui {

class AppSettings : public QObject {
    Q_OBJECT
public:
    explicit AppSettings(QObject* parent = nullptr);

    QString modelPath() const;   // the configured model, else the bundled demo
    bool hasConfiguredModel() const;
    void setModelPath(const QString& path);
    QString hubUrl() const;      // where models are downloaded from (Hugging Face by default)
    void setHubUrl(const QString& url);
    QString modelsFolder() const;   // where downloads go by default
    QString backend() const;   // auto, cpu, cuda
    void setBackend(const QString& b);
    int threads() const;       // 0: physical cores
    void setThreads(int n);
    QString kvCache() const;   // the CPU backend's KV cache: f32 or f16
    void setKvCache(const QString& type);
    GenerationSettings generation(Job job) const;
    void setGeneration(Job job, const GenerationSettings& s);
    QString promptFormatJson() const;   // PromptFormat as JSON ("" = defaults)
    PromptFormat promptFormat() const;
    void setPromptFormatJson(const QString& json);   // validated; throws phidesk::Error
    QString databasePath() const;

signals:
    void changed();
};

// PromptFormat from its JSON text ("" = the defaults); throws phidesk::Error naming the problem.
PromptFormat promptFormatFromJson(const QString& json);

// The model to open when none is configured: the bundled demo model.
QString bundledDemoModel();

}  // namespace phidesk::ui
