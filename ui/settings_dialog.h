// Edits AppSettings: sampling per job, chat speaker names and templates, backend, threads, hub.
#pragma once
#include <QDialog>

#include "phidesk/sampler.h"

class QComboBox;
class QDoubleSpinBox;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;

namespace phidesk::ui {

class AppSettings;

class SettingsDialog : public QDialog {
    Q_OBJECT
public:
    explicit SettingsDialog(AppSettings& settings, QWidget* parent = nullptr);
    void accept() override;

private:
    struct JobFields {
        QDoubleSpinBox *temperature, *top_p, *min_p, *repeat;
        QSpinBox *top_k, *max_tokens;
    };
    QWidget* jobPage(Job job, JobFields& f);

    AppSettings& settings_;
    JobFields jobs_[3];
    QLineEdit *user_, *assistant_, *hub_;
    QPlainTextEdit* format_;
    QComboBox* backend_;
    QSpinBox* threads_;
    QComboBox* kvCache_;
};

}  // namespace phidesk::ui
