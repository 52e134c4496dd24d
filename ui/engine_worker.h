// The engine side of the GUI: lives in a worker QThread and is only ever called through queued
// signals from EngineBridge. It owns the model, backend and generator; results go back by signals.
#pragma once
#include <QObject>
#include <QString>
#include <QStringList>
#include <QVector>
#include <QPair>
#include <atomic>
#include <memory>

#include "phidesk/generator.h"
#include "phidesk/prompt.h"
#include "phidesk/sampler.h"

namespace phidesk {
class Model;
}

namespace phidesk::ui {

using History = QVector<QPair<QString, QString>>;   // (user, assistant) turns

struct ModelInfo {
    QString path, name, backend;
    bool demo = false;
    qint64 weight_bytes = 0, kv_bytes = 0;
    int context = 0;
};

struct GenerationSettings {
    SamplerParams sampling;
    int max_new_tokens = 512;
    QStringList stop_strings;
};

class EngineWorker : public QObject {
    Q_OBJECT
public:
    explicit EngineWorker(std::shared_ptr<std::atomic<bool>> cancel);
    ~EngineWorker() override;

public slots:
    void loadModel(const QString& path, const QString& backend, int threads, const QString& kvCache);
    void chat(quint64 id, const QString& system, const phidesk::ui::History& history, const QString& message,
              const phidesk::ui::GenerationSettings& s, const QString& formatJson);
    void complete(quint64 id, const QString& prompt, const phidesk::ui::GenerationSettings& s);
    void summarize(quint64 id, const QString& text, int length, const phidesk::ui::GenerationSettings& s,
                   const QString& formatJson);
    void convert(const QString& hfDir, const QString& out, const QString& quant);

signals:
    void modelLoaded(const phidesk::ui::ModelInfo& info);
    void modelFailed(const QString& message);
    void loadProgress(double fraction);   // emitted from the loader's threads (queued to receivers)
    void token(quint64 id, const QString& delta);
    // stop: eos, stop_string, max_tokens, context_full, cancelled.
    void generationFinished(quint64 id, const QString& text, const QString& stop, int turnsLeftOut, double tokensPerSecond,
                            int contextUsed);
    void failed(quint64 id, const QString& message);
    void summaryProgress(quint64 id, int level, int chunk, int chunks);
    void summaryFinished(quint64 id, const QString& text, bool cancelled);
    void conversionProgress(double fraction, const QString& tensor);
    void conversionFinished(const QString& out, const QString& error);

private:
    bool ready(quint64 id);
    GenerateOptions options(const GenerationSettings& s) const;
    void emitFinished(quint64 id, const GenerationResult& r, int turnsLeftOut);

    std::shared_ptr<std::atomic<bool>> cancel_;
    std::shared_ptr<const Model> model_;
    std::unique_ptr<Generator> gen_;
};

}  // namespace phidesk::ui

Q_DECLARE_METATYPE(phidesk::ui::ModelInfo)
Q_DECLARE_METATYPE(phidesk::ui::GenerationSettings)
