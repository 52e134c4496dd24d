#include "engine_bridge.h"

namespace phidesk::ui {

EngineBridge::EngineBridge(QObject* parent) : QObject(parent), worker_(new EngineWorker(cancel_)) {
    qRegisterMetaType<ModelInfo>();
    qRegisterMetaType<GenerationSettings>();
    qRegisterMetaType<History>();
    worker_->moveToThread(&thread_);
    connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
    // Requests: queued into the worker's thread.
    connect(this, &EngineBridge::requestLoadModel, worker_, &EngineWorker::loadModel);
    connect(this, &EngineBridge::requestChat, worker_, &EngineWorker::chat);
    connect(this, &EngineBridge::requestComplete, worker_, &EngineWorker::complete);
    connect(this, &EngineBridge::requestSummarize, worker_, &EngineWorker::summarize);
    connect(this, &EngineBridge::requestConvert, worker_, &EngineWorker::convert);
    // Results: queued back into this (the GUI) thread.
    connect(worker_, &EngineWorker::modelLoaded, this, [this](const ModelInfo& info) {
        model_ = info;
        setBusy(false);
        emit modelLoaded(info);
    });
    connect(worker_, &EngineWorker::modelFailed, this, [this](const QString& m) {
        model_ = {};
        setBusy(false);
        emit modelFailed(m);
    });
    connect(worker_, &EngineWorker::token, this, &EngineBridge::token);
    connect(worker_, &EngineWorker::loadProgress, this, &EngineBridge::loadProgress);
    connect(worker_, &EngineWorker::generationFinished, this,
            [this](quint64 id, const QString& text, const QString& stop, int left, double tps, int used) {
                setBusy(false);
                emit generationFinished(id, text, stop, left, tps, used);
            });
    connect(worker_, &EngineWorker::failed, this, [this](quint64 id, const QString& m) {
        setBusy(false);
        emit failed(id, m);
    });
    connect(worker_, &EngineWorker::summaryProgress, this, &EngineBridge::summaryProgress);
    connect(worker_, &EngineWorker::summaryFinished, this, [this](quint64 id, const QString& text, bool cancelled) {
        setBusy(false);
        emit summaryFinished(id, text, cancelled);
    });
    connect(worker_, &EngineWorker::conversionProgress, this, &EngineBridge::conversionProgress);
    connect(worker_, &EngineWorker::conversionFinished, this, [this](const QString& out, const QString& error) {
        setBusy(false);
        emit conversionFinished(out, error);
    });
    thread_.setObjectName(QStringLiteral("phidesk-engine"));
    thread_.start();
}

EngineBridge::~EngineBridge() {
    cancel();   // a running generation returns within one step (or one 128-token piece of its prompt)
    thread_.quit();
    thread_.wait();
}

quint64 EngineBridge::start() {
    setBusy(true);
    return next_id_++;
}

void EngineBridge::setBusy(bool b) {
    if (busy_ == b) return;
    busy_ = b;
    emit busyChanged(b);
}

quint64 EngineBridge::chat(const QString& system, const History& history, const QString& message,
                           const GenerationSettings& s, const QString& formatJson) {
    const quint64 id = start();
    emit requestChat(id, system, history, message, s, formatJson);
    return id;
}

quint64 EngineBridge::complete(const QString& prompt, const GenerationSettings& s) {
    const quint64 id = start();
    emit requestComplete(id, prompt, s);
    return id;
}

quint64 EngineBridge::summarize(const QString& text, int length, const GenerationSettings& s, const QString& formatJson) {
    const quint64 id = start();
    emit requestSummarize(id, text, length, s, formatJson);
    return id;
}

void EngineBridge::loadModel(const QString& path, const QString& backend, int threads, const QString& kvCache) {
    start();
    emit modelLoading(path);
    emit requestLoadModel(path, backend, threads, kvCache);
}

void EngineBridge::convert(const QString& hfDir, const QString& out, const QString& quant) {
    start();
    emit requestConvert(hfDir, out, quant);
}

void EngineBridge::cancel() {
    cancel_->store(true);
}

}  // namespace phidesk::ui
