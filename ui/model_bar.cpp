#include "model_bar.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>

namespace phidesk::ui {

ModelBar::ModelBar(QWidget* parent) : QWidget(parent) {
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(6, 2, 6, 2);
    model_ = new QLabel(tr("No model"));
    backend_ = new QLabel;
    memory_ = new QLabel;
    context_ = new QLabel;
    speed_ = new QLabel;
    for (QLabel* l : {model_, backend_, memory_, context_, speed_}) {
        l->setTextInteractionFlags(Qt::TextSelectableByMouse);
        layout->addWidget(l);
    }
    layout->addStretch();
}

void ModelBar::setLoading(const QString& path) {
    model_->setText(tr("Loading %1…").arg(path));
    for (QLabel* l : {backend_, memory_, context_, speed_}) l->clear();
}

void ModelBar::setModel(const ModelInfo& info) {
    model_->setText(info.demo ? tr("<b>%1</b> (demo model: it only recites a few fixed texts)").arg(info.name)
                              : tr("<b>%1</b>").arg(info.name));
    model_->setToolTip(info.path);
    backend_->setText(tr("Backend: %1").arg(info.backend));
    memory_->setText(tr("Memory: %1 weights + %2 context cache")
                         .arg(QLocale().formattedDataSize(info.weight_bytes), QLocale().formattedDataSize(info.kv_bytes)));
    context_size_ = info.context;
    context_->setText(tr("Context: 0 / %1").arg(info.context));
    speed_->clear();
}

void ModelBar::setFailed(const QString& message) {
    model_->setText(tr("No model loaded: %1").arg(message));
}

void ModelBar::setLastAnswer(double tokensPerSecond, int contextUsed) {
    context_->setText(tr("Context: %1 / %2").arg(contextUsed).arg(context_size_));
    speed_->setText(tr("Last answer: %1 tokens/s").arg(tokensPerSecond, 0, 'f', 1));
}

QString ModelBar::text() const {
    QStringList parts;
    for (QLabel* l : {model_, backend_, memory_, context_, speed_}) parts << l->text();
    return parts.join(QLatin1Char(' '));
}

}  // namespace phidesk::ui
