// The GUI's one door to the engine. Every request crosses to the worker thread as a queued
// signal and every result comes back as one; nothing here ever waits for the engine.
#pragma once
#include <QObject>
#include <QThread>

#include "engine_worker.h"

namespace phidesk::ui {

class EngineBridge : public QObject {
    Q_OBJECT
public:
    explicit EngineBridge(QObject* parent = nullptr);
    ~EngineBridge() override;   // cancels what runs and stops the thread

    quint64 chat(const QString& system, const History& history, const QString& message, const GenerationSettings& s,
                 const QString& formatJson = {});
    quint64 complete(const QString& prompt, const GenerationSettings& s);
    quint64 summarize(const QString& text, int length, const GenerationSettings& s, const QString& formatJson = {});
    void loadModel(const QString& path, const QString& backend = QStringLiteral("auto"), int threads = 0,
                   const QString& kvCache = QStringLiteral("f32"));
    void convert(const QString& hfDir, const QString& out, const QString& quant);
    // Stops the running request before its next token (or chunk, or tensor). Safe any time.
    void cancel();
    bool busy() const { return busy_; }
    const ModelInfo& model() const { return model_; }

signals:
    void requestLoadModel(const QString& path, const QString& backend, int threads, const QString& kvCache);
    void requestChat(quint64 id, const QString& system, const phidesk::ui::History& history, const QString& message,
                     const phidesk::ui::GenerationSettings& s, const QString& formatJson);
    void requestComplete(quint64 id, const QString& prompt, const phidesk::ui::GenerationSettings& s);
    void requestSummarize(quint64 id, const QString& text, int length, const phidesk::ui::GenerationSettings& s,
                          const QString& formatJson);
    void requestConvert(const QString& hfDir, const QString& out, const QString& quant);

    void modelLoading(const QString& path);
    void modelLoaded(const phidesk::ui::ModelInfo& info);
    void modelFailed(const QString& message);
    void loadProgress(double fraction);
    void token(quint64 id, const QString& delta);
    void generationFinished(quint64 id, const QString& text, const QString& stop, int turnsLeftOut, double tokensPerSecond,
                            int contextUsed);
    void failed(quint64 id, const QString& message);
    void summaryProgress(quint64 id, int level, int chunk, int chunks);
    void summaryFinished(quint64 id, const QString& text, bool cancelled);
    void conversionProgress(double fraction, const QString& tensor);
    void conversionFinished(const QString& out, const QString& error);
    void busyChanged(bool busy);

private:
    quint64 start();
    void setBusy(bool b);

    QThread thread_;
    std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
    EngineWorker* worker_;
    quint64 next_id_ = 1;
    bool busy_ = false;
    ModelInfo model_;
};

}  // namespace phidesk::ui
