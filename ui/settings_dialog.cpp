#include "settings_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QVBoxLayout>

#include <nlohmann/json.hpp>

#include "app_settings.h"
#include "phidesk/prompt.h"

namespace phidesk::ui {
namespace {

constexpr Job kJobs[] = {Job::Chat, Job::Code, Job::Summary};

QDoubleSpinBox* spin(double lo, double hi, double step, double value) {
    auto* s = new QDoubleSpinBox;
    s->setRange(lo, hi);
    s->setSingleStep(step);
    s->setDecimals(2);
    s->setValue(value);
    return s;
}

}  // namespace

SettingsDialog::SettingsDialog(AppSettings& settings, QWidget* parent) : QDialog(parent), settings_(settings) {
    setWindowTitle(tr("Settings"));
    auto* tabs = new QTabWidget;
    for (int i = 0; i < 3; ++i)
        tabs->addTab(jobPage(kJobs[i], jobs_[i]), i == 0 ? tr("Chat") : i == 1 ? tr("Code") : tr("Summary"));

    const PromptFormat f = settings_.promptFormat();
    user_ = new QLineEdit(QString::fromStdString(f.user_name));
    assistant_ = new QLineEdit(QString::fromStdString(f.assistant_name));
    format_ = new QPlainTextEdit(QString::fromStdString(f.to_json().dump(2)));
    auto* prompts = new QWidget;
    auto* pl = new QFormLayout(prompts);
    pl->addRow(tr("User name:"), user_);
    pl->addRow(tr("Assistant name:"), assistant_);
    pl->addRow(tr("Templates (JSON):"), format_);
    tabs->addTab(prompts, tr("Prompts"));

    backend_ = new QComboBox;
    backend_->addItem(tr("Automatic"), QStringLiteral("auto"));
    backend_->addItem(tr("CPU"), QStringLiteral("cpu"));
    backend_->addItem(tr("GPU (CUDA)"), QStringLiteral("cuda"));
    backend_->setCurrentIndex(std::max(0, backend_->findData(settings_.backend())));
    threads_ = new QSpinBox;
    threads_->setRange(0, 256);
    threads_->setSpecialValueText(tr("one per physical core"));
    threads_->setValue(settings_.threads());
    kvCache_ = new QComboBox;
    kvCache_->addItem(tr("float32 (default)"), QStringLiteral("f32"));
    kvCache_->addItem(tr("float16 (half the memory)"), QStringLiteral("f16"));
    kvCache_->setCurrentIndex(std::max(0, kvCache_->findData(settings_.kvCache())));
    kvCache_->setToolTip(tr("How the CPU backend keeps each token's keys and values. float16 halves their memory and "
                            "speeds up answers after a long conversation or document, and rounds them slightly. "
                            "A GPU keeps float32."));
    auto* engine = new QWidget;
    auto* el = new QFormLayout(engine);
    el->addRow(tr("Backend:"), backend_);
    el->addRow(tr("CPU threads:"), threads_);
    el->addRow(tr("KV cache:"), kvCache_);
    hub_ = new QLineEdit(settings_.hubUrl());
    hub_->setToolTip(tr("The Hugging Face hub, or a mirror with the same URL layout, that models are downloaded from"));
    el->addRow(tr("Model hub:"), hub_);
    tabs->addTab(engine, tr("Engine"));

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel | QDialogButtonBox::RestoreDefaults);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(buttons->button(QDialogButtonBox::RestoreDefaults), &QPushButton::clicked, this, [this] {
        format_->setPlainText(QString::fromStdString(PromptFormat{}.to_json().dump(2)));
        user_->setText(QStringLiteral("User"));
        assistant_->setText(QStringLiteral("Assistant"));
    });
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(tabs);
    layout->addWidget(buttons);
}

QWidget* SettingsDialog::jobPage(Job job, JobFields& f) {
    const GenerationSettings g = settings_.generation(job);
    f.temperature = spin(0, 2, 0.05, g.sampling.temperature);
    f.top_p = spin(0.01, 1, 0.01, g.sampling.top_p);
    f.min_p = spin(0, 0.99, 0.01, g.sampling.min_p);
    f.repeat = spin(0.5, 2, 0.01, g.sampling.repeat_penalty);
    f.top_k = new QSpinBox;
    f.top_k->setRange(0, 1000);
    f.top_k->setSpecialValueText(tr("off"));
    f.top_k->setValue(g.sampling.top_k);
    f.max_tokens = new QSpinBox;
    f.max_tokens->setRange(1, 8192);
    f.max_tokens->setValue(g.max_new_tokens);
    auto* page = new QWidget;
    auto* form = new QFormLayout(page);
    form->addRow(tr("Temperature (0 = greedy):"), f.temperature);
    form->addRow(tr("Top-k:"), f.top_k);
    form->addRow(tr("Top-p:"), f.top_p);
    form->addRow(tr("Min-p:"), f.min_p);
    form->addRow(tr("Repetition penalty:"), f.repeat);
    form->addRow(tr("Longest answer (tokens):"), f.max_tokens);
    return page;
}

void SettingsDialog::accept() {
    nlohmann::json j = nlohmann::json::parse(format_->toPlainText().toStdString(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        QMessageBox::warning(this, tr("Settings"), tr("The templates are not a valid JSON object."));
        return;
    }
    j["user_name"] = user_->text().toStdString();
    j["assistant_name"] = assistant_->text().toStdString();
    try {
        settings_.setPromptFormatJson(QString::fromStdString(j.dump()));
    } catch (const std::exception& e) {
        QMessageBox::warning(this, tr("Settings"), QString::fromStdString(e.what()));
        return;
    }
    for (int i = 0; i < 3; ++i) {
        GenerationSettings g = settings_.generation(kJobs[i]);
        const JobFields& f = jobs_[i];
        g.sampling.temperature = float(f.temperature->value());
        g.sampling.top_k = f.top_k->value();
        g.sampling.top_p = float(f.top_p->value());
        g.sampling.min_p = float(f.min_p->value());
        g.sampling.repeat_penalty = float(f.repeat->value());
        g.max_new_tokens = f.max_tokens->value();
        settings_.setGeneration(kJobs[i], g);
    }
    settings_.setBackend(backend_->currentData().toString());
    settings_.setThreads(threads_->value());
    settings_.setKvCache(kvCache_->currentData().toString());
    settings_.setHubUrl(hub_->text().trimmed());
    QDialog::accept();
}

}  // namespace phidesk::ui
