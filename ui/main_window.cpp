#include "main_window.h"

#include <QAction>
#include <QApplication>
#include <QFileDialog>
#include <QInputDialog>
#include <QKeySequence>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QProgressDialog>
#include <QPushButton>
#include <QShortcut>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QToolBar>
#include <QVBoxLayout>

#include "app_settings.h"
#include "chat_controller.h"
#include "chat_page.h"
#include "code_page.h"
#include "conversation_store.h"
#include "engine_bridge.h"
#include "model_bar.h"
#include "model_downloader.h"
#include "settings_dialog.h"
#include "summarize_page.h"
#include "welcome_page.h"

namespace phidesk::ui {

MainWindow::MainWindow(const QString& databasePath, QWidget* parent)
    : QMainWindow(parent), settings_(std::make_unique<AppSettings>()), engine_(std::make_unique<EngineBridge>()) {
    setWindowTitle(tr("PhiDesk"));
    store_ = std::make_unique<ConversationStore>(databasePath.isEmpty() ? settings_->databasePath() : databasePath);
    chat_ = std::make_unique<ChatController>(*engine_, *store_, *settings_);

    model_bar_ = new ModelBar;
    tabs_ = new QTabWidget;
    chat_page_ = new ChatPage(*chat_, *store_, repo_);
    code_page_ = new CodePage(*engine_, *settings_, repo_);
    summarize_page_ = new SummarizePage(*engine_, *settings_, repo_);
    tabs_->addTab(chat_page_, tr("&Chat"));
    tabs_->addTab(code_page_, tr("C&ode"));
    tabs_->addTab(summarize_page_, tr("&Summarize"));
    workspace_ = new QWidget;
    auto* layout = new QVBoxLayout(workspace_);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(model_bar_);
    layout->addWidget(tabs_, 1);
    downloader_ = std::make_unique<ModelDownloader>();
    welcome_ = new WelcomePage(*settings_, *downloader_);
    connect(welcome_, &WelcomePage::demoRequested, this, [this] { loadModel(bundledDemoModel()); });
    connect(welcome_, &WelcomePage::openFileRequested, this, &MainWindow::openModelFile);
    connect(welcome_, &WelcomePage::openFolderRequested, this, &MainWindow::openModelFolder);
    connect(welcome_, &WelcomePage::modelReady, this, &MainWindow::loadModel);
    stack_ = new QStackedWidget;
    stack_->addWidget(workspace_);
    stack_->addWidget(welcome_);
    setCentralWidget(stack_);
    busy_ = new QProgressBar;
    busy_->setRange(0, 0);
    busy_->setMaximumWidth(160);
    busy_->hide();
    statusBar()->addPermanentWidget(busy_);
    buildMenus();

    connect(engine_.get(), &EngineBridge::modelLoading, this, [this](const QString& path) {
        model_bar_->setLoading(path);
        busy_->setRange(0, 0);   // busy until the loader reports how far it is
        busy_->show();
    });
    connect(engine_.get(), &EngineBridge::loadProgress, this, [this](double fraction) {
        busy_->setRange(0, 100);
        busy_->setValue(int(fraction * 100));
    });
    connect(engine_.get(), &EngineBridge::modelLoaded, this, [this](const ModelInfo& info) {
        model_bar_->setModel(info);
        busy_->hide();
        if (leave_welcome_on_load_) stack_->setCurrentWidget(workspace_);
        leave_welcome_on_load_ = false;
        statusBar()->showMessage(tr("Loaded %1").arg(info.path), 5000);
    });
    connect(engine_.get(), &EngineBridge::modelFailed, this, [this](const QString& message) {
        model_bar_->setFailed(message);
        busy_->hide();
        showError(tr("The model could not be loaded"), message);
    });
    connect(engine_.get(), &EngineBridge::generationFinished, this,
            [this](quint64, const QString&, const QString&, int, double tps, int used) { model_bar_->setLastAnswer(tps, used); });
    if (!store_->isOpen())
        QMetaObject::invokeMethod(this, [this] { showError(tr("Conversations are not saved"), store_->errorString()); },
                                  Qt::QueuedConnection);
    resize(1100, 760);
}

MainWindow::~MainWindow() {
    delete takeCentralWidget();   // the pages go first: they use the repository, store and engine
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("Open &model file (.phz)…"), QKeySequence::Open, this, &MainWindow::openModelFile);
    file->addAction(tr("Open Hugging Face &folder…"), this, &MainWindow::openModelFolder);
    file->addAction(tr("&Convert Hugging Face folder to .phz…"), this, &MainWindow::convertModel);
    file->addAction(tr("Load the &demo model"), this, [this] { loadModel(bundledDemoModel()); });
    file->addAction(tr("&Get a model…"), this, &MainWindow::showWelcome);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    edit->addAction(tr("&Settings…"), QKeySequence::Preferences, this, &MainWindow::showSettings);
    QMenu* chat = menuBar()->addMenu(tr("C&hat"));
    chat->addAction(tr("&New conversation"), QKeySequence::New, chat_page_, &ChatPage::newConversation);
    chat->addAction(tr("&Send"), QKeySequence(Qt::CTRL | Qt::Key_Return), chat_page_, &ChatPage::send);
    chat->addAction(tr("S&top"), QKeySequence(Qt::Key_Escape), this, [this] { engine_->cancel(); });
    chat->addAction(tr("&Copy last answer"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C), chat_page_, &ChatPage::copyLastAnswer);
    QMenu* code = menuBar()->addMenu(tr("C&ode"));
    code->addAction(tr("&Complete at cursor"), QKeySequence(Qt::CTRL | Qt::Key_Space), code_page_, &CodePage::completeAtCursor);
    code->addAction(tr("&Accept suggestion"), QKeySequence(Qt::ALT | Qt::Key_Return), code_page_, &CodePage::acceptSuggestion);
    code->addAction(tr("&Reject suggestion"), QKeySequence(Qt::ALT | Qt::Key_Backspace), code_page_, &CodePage::rejectSuggestion);
    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About PhiDesk"), this, [this] {
        QMessageBox::about(this, tr("About PhiDesk"),
                           tr("<b>PhiDesk %1</b><p>A local assistant for Microsoft's Phi models. Nothing leaves this computer.</p>")
                               .arg(QApplication::applicationVersion()));
    });
}

void MainWindow::showError(const QString& title, const QString& message) {
    // Not exec(): no nested event loop, the window keeps running while the message is shown.
    auto* box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void MainWindow::start(const QString& model) {
    if (!model.isEmpty() || settings_->hasConfiguredModel()) {
        loadModel(model.isEmpty() ? settings_->modelPath() : model);
        return;
    }
    showWelcome();
    const QString demo = bundledDemoModel();   // ready behind the page, not saved as the user's choice
    if (!demo.isEmpty()) engine_->loadModel(demo, settings_->backend(), settings_->threads(), settings_->kvCache());
}

void MainWindow::showWelcome() { stack_->setCurrentWidget(welcome_); }

bool MainWindow::showingWelcome() const { return stack_->currentWidget() == welcome_; }

void MainWindow::loadModel(const QString& path) {
    if (path.isEmpty()) {
        showError(tr("No model"), tr("No model is configured and the bundled demo model was not found."));
        return;
    }
    leave_welcome_on_load_ = true;
    engine_->loadModel(path, settings_->backend(), settings_->threads(), settings_->kvCache());
    settings_->setModelPath(path);
}

void MainWindow::openModelFile() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open model"), QString(), tr("PhiDesk models (*.phz)"));
    if (!path.isEmpty()) loadModel(path);
}

void MainWindow::openModelFolder() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open a Hugging Face checkpoint folder"));
    if (!dir.isEmpty()) loadModel(dir);
}

void MainWindow::convertModel() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Hugging Face checkpoint folder to convert"));
    if (dir.isEmpty()) return;
    const QString out = QFileDialog::getSaveFileName(this, tr("Save the .phz model as"), dir + QStringLiteral(".phz"),
                                                     tr("PhiDesk models (*.phz)"));
    if (out.isEmpty()) return;
    bool ok = false;
    const QString quant = QInputDialog::getItem(this, tr("Convert"), tr("Weights:"),
                                                {QStringLiteral("keep"), QStringLiteral("int8"), QStringLiteral("int4")}, 0, false, &ok);
    if (!ok) return;
    auto* dialog = new QProgressDialog(tr("Converting…"), tr("Cancel"), 0, 1000, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setMinimumDuration(0);
    connect(dialog, &QProgressDialog::canceled, this, [this] { engine_->cancel(); });
    connect(engine_.get(), &EngineBridge::conversionProgress, dialog, [dialog](double f, const QString& tensor) {
        dialog->setValue(int(f * 1000));
        dialog->setLabelText(tr("Converting %1").arg(tensor));
    });
    connect(engine_.get(), &EngineBridge::conversionFinished, dialog, [this, dialog](const QString& path, const QString& error) {
        dialog->close();
        if (!error.isEmpty()) {
            showError(tr("Conversion failed"), error);
        } else if (QMessageBox::question(this, tr("Converted"), tr("Wrote %1. Load it now?").arg(path)) == QMessageBox::Yes) {
            loadModel(path);
        }
    });
    engine_->convert(dir, out, quant);
}

void MainWindow::showSettings() {
    SettingsDialog d(*settings_, this);
    const QString backend = settings_->backend(), kvCache = settings_->kvCache();
    const int threads = settings_->threads();
    if (d.exec() == QDialog::Accepted &&
        (backend != settings_->backend() || threads != settings_->threads() || kvCache != settings_->kvCache()))
        loadModel(settings_->modelPath());   // a new backend, thread count or KV cache takes a reload
}

}  // namespace phidesk::ui
