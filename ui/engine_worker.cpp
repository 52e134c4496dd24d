#include "engine_worker.h"

#include "app_settings.h"

#include <QFileInfo>

#include "phidesk/backend.h"
#include "phidesk/chat.h"
#include "phidesk/error.h"
#include "phidesk/model.h"
#include "phidesk/phz.h"
#include "phidesk/summarize.h"

namespace phidesk::ui {
namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }

}  // namespace

EngineWorker::EngineWorker(std::shared_ptr<std::atomic<bool>> cancel) : cancel_(std::move(cancel)) {}
EngineWorker::~EngineWorker() = default;

void EngineWorker::loadModel(const QString& path, const QString& backend, int threads, const QString& kvCache) {
    try {
        gen_.reset();
        model_.reset();   // free the old weights before loading the new ones
        const std::string p = path.toStdString();
        BackendOptions o;
        o.backend = backend.toStdString();
        o.threads = threads;
        o.kv_cache = kvCache.toStdString();
        auto [model, b] = load_model_on_backend(p, o, [this](double fraction) { emit loadProgress(fraction); });
        Tokenizer tok = Tokenizer::load(p);
        ModelInfo info;
        info.path = path;
        info.name = QFileInfo(path).completeBaseName();
        info.demo = info.name.contains(QStringLiteral("phi-demo"));
        info.backend = q(b->description());
        info.weight_bytes = qint64(model->weight_bytes());
        info.context = b->context_length();
        info.kv_bytes = qint64(b->kv_cache_bytes());
        gen_ = std::make_unique<Generator>(std::move(b), std::move(tok));
        model_ = std::move(model);
        emit modelLoaded(info);
    } catch (const std::exception& e) {
        emit modelFailed(q(e.what()));
    }
}

bool EngineWorker::ready(quint64 id) {
    cancel_->store(false);
    if (gen_) return true;
    emit failed(id, tr("No model is loaded."));
    return false;
}

GenerateOptions EngineWorker::options(const GenerationSettings& s) const {
    GenerateOptions o;
    o.sampling = s.sampling;
    o.max_new_tokens = s.max_new_tokens;
    for (const QString& stop : s.stop_strings) o.stop_strings.push_back(stop.toStdString());
    return o;
}

void EngineWorker::emitFinished(quint64 id, const GenerationResult& r, int turnsLeftOut) {
    emit generationFinished(id, q(r.text), stop_reason_name(r.stop), turnsLeftOut, r.decode_tokens_per_second(),
                            gen_->backend().cached_tokens());
}

void EngineWorker::chat(quint64 id, const QString& system, const History& history, const QString& message,
                        const GenerationSettings& s, const QString& formatJson) {
    if (!ready(id)) return;
    try {
        ChatSession session(*gen_, promptFormatFromJson(formatJson), system.toStdString());
        std::vector<ChatTurn> turns;
        for (const auto& [user, reply] : history) turns.emplace_back(user.toStdString(), reply.toStdString());
        session.set_turns(std::move(turns));
        const ChatReply r = session.send(message.toStdString(), options(s),
                                         [&](const TokenEvent& e) { if (!e.delta.empty()) emit token(id, q(e.delta)); },
                                         cancel_.get());
        emitFinished(id, r.generation, r.turns_left_out);
    } catch (const std::exception& e) {
        emit failed(id, q(e.what()));
    }
}

void EngineWorker::complete(quint64 id, const QString& prompt, const GenerationSettings& s) {
    if (!ready(id)) return;
    try {
        const GenerationResult r = gen_->generate(gen_->encode(prompt.toStdString()), options(s),
                                                  [&](const TokenEvent& e) { if (!e.delta.empty()) emit token(id, q(e.delta)); },
                                                  cancel_.get());
        emitFinished(id, r, 0);
    } catch (const std::exception& e) {
        emit failed(id, q(e.what()));
    }
}

void EngineWorker::summarize(quint64 id, const QString& text, int length, const GenerationSettings& s,
                             const QString& formatJson) {
    if (!ready(id)) return;
    try {
        SummarizeOptions o;
        o.generation = options(s);
        o.length = SummaryLength(length);
        const SummaryResult r = phidesk::summarize(*gen_, promptFormatFromJson(formatJson), text.toStdString(), o,
                                                   [&](const SummaryProgress& p) { emit summaryProgress(id, p.level, p.chunk, p.chunks); },
                                                   cancel_.get());
        emit summaryFinished(id, q(r.text), r.cancelled);
    } catch (const std::exception& e) {
        emit failed(id, q(e.what()));
    }
}

void EngineWorker::convert(const QString& hfDir, const QString& out, const QString& quant) {
    cancel_->store(false);
    try {
        ConvertOptions o;
        o.quant = quant.toStdString();
        o.cancel = cancel_.get();
        o.on_progress = [&](const ConvertProgress& p) {
            emit conversionProgress(p.bytes_total ? double(p.bytes_done) / double(p.bytes_total) : 1.0, q(p.tensor));
        };
        convert_to_phz(hfDir.toStdString(), out.toStdString(), o);
        emit conversionFinished(out, {});
    } catch (const std::exception& e) {
        emit conversionFinished(out, q(e.what()));
    }
}

}  // namespace phidesk::ui
