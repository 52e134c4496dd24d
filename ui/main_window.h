// The main window: model bar, the Chat / Code / Summarize workspaces, menus and shortcuts.
#pragma once
#include <QMainWindow>
#include <memory>

#include <KSyntaxHighlighting/Repository>

class QTabWidget;
class QProgressBar;
class QStackedWidget;

namespace phidesk::ui {

class AppSettings;
class ChatController;
class ChatPage;
class CodePage;
class ConversationStore;
class EngineBridge;
class ModelBar;
class ModelDownloader;
class SummarizePage;
class WelcomePage;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // `databasePath` empty: the user's data folder.
    explicit MainWindow(const QString& databasePath = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    EngineBridge& engine() { return *engine_; }
    ConversationStore& store() { return *store_; }
    ChatController& chat() { return *chat_; }
    ChatPage* chatPage() const { return chat_page_; }
    CodePage* codePage() const { return code_page_; }
    SummarizePage* summarizePage() const { return summarize_page_; }
    ModelBar* modelBar() const { return model_bar_; }
    QTabWidget* tabs() const { return tabs_; }
    WelcomePage* welcomePage() const { return welcome_; }
    bool showingWelcome() const;

    // Opens `model`, else the configured model; with neither (first run) shows the welcome page
    // while the demo model loads behind it.
    void start(const QString& model = {});

public slots:
    void loadModel(const QString& path);
    void openModelFile();
    void openModelFolder();
    void convertModel();
    void showSettings();
    void showWelcome();

private:
    void buildMenus();
    void showError(const QString& title, const QString& message);

    KSyntaxHighlighting::Repository repo_;   // destroyed after the pages (declared first)
    std::unique_ptr<AppSettings> settings_;
    std::unique_ptr<EngineBridge> engine_;
    std::unique_ptr<ConversationStore> store_;
    std::unique_ptr<ChatController> chat_;
    std::unique_ptr<ModelDownloader> downloader_;
    QStackedWidget* stack_;
    QWidget* workspace_;
    WelcomePage* welcome_;
    bool leave_welcome_on_load_ = false;   // set by a model the user picked
    ModelBar* model_bar_;
    QTabWidget* tabs_;
    ChatPage* chat_page_;
    CodePage* code_page_;
    SummarizePage* summarize_page_;
    QProgressBar* busy_;
};

}  // namespace phidesk::ui
