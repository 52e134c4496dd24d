// The strip above the workspaces: model, backend, memory, context used, speed of the last answer.
#pragma once
#include <QWidget>

#include "engine_worker.h"

class QLabel;

namespace phidesk::ui {

class ModelBar : public QWidget {
    Q_OBJECT
public:
    explicit ModelBar(QWidget* parent = nullptr);
    void setLoading(const QString& path);
    void setModel(const ModelInfo& info);
    void setFailed(const QString& message);
    void setLastAnswer(double tokensPerSecond, int contextUsed);
    QString text() const;   // everything shown, for tests and accessibility

private:
    QLabel *model_, *backend_, *memory_, *context_, *speed_;
    int context_size_ = 0;
};

}  // namespace phidesk::ui
