<?xml version='1.0' encoding='utf-8'?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>phidesk::ui::ChatController</name>
    <message>
        <source>You</source>
        <translation>你</translation>
    </message>
    <message>
        <source>Assistant</source>
        <translation>助手</translation>
    </message>
    <message>
        <source>*(stopped)*</source>
        <translation>*（已停止）*</translation>
    </message>
    <message numerus="yes">
        <source>The conversation is longer than the model's context: the %n oldest turn(s) were left out of this answer.</source>
        <translation><numerusform>对话超出了模型的上下文长度：本次回答未包含最早的 %n 轮对话。</numerusform></translation>
    </message>
    <message>
        <source>The answer stopped because the context is full.</source>
        <translation>上下文已满，回答已停止。</translation>
    </message>
</context>
<context>
    <name>phidesk::ui::ChatPage</name>
    <message>
        <source>Search conversations</source>
        <translation>搜索对话</translation>
    </message>
    <message>
        <source>New</source>
        <translation>新建</translation>
    </message>
    <message>
        <source>Rename</source>
        <translation>重命名</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>Export…</source>
        <translation>导出…</translation>
    </message>
    <message>
        <source>Message (Ctrl+Enter to send)</source>
        <translation>消息（Ctrl+Enter 发送）</translation>
    </message>
    <message>
        <source>Send</source>
        <translation>发送</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Regenerate</source>
        <translation>重新生成</translation>
    </message>
    <message>
        <source>Edit last</source>
        <translation>编辑上一条</translation>
    </message>
    <message>
        <source>Error: %1</source>
        <translation>错误：%1</translation>
    </message>
    <message>
        <source>Rename conversation</source>
        <translation>重命名对话</translation>
    </message>
    <message>
        <source>Title:</source>
        <translation>标题：</translation>
    </message>
    <message>
        <source>Delete conversation</source>
        <translation>删除对话</translation>
    </message>
    <message>
        <source>Delete “%1”?</source>
        <translation>删除“%1”？</translation>
    </message>
    <message>
        <source>Export conversation</source>
        <translation>导出对话</translation>
    </message>
    <message>
        <source>Markdown (*.md)</source>
        <translation>Markdown (*.md)</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <source>Cannot write %1: %2</source>
        <translation>无法写入 %1：%2</translation>
    </message>
    <message>
        <source>Edit and resend</source>
        <translation>编辑并重新发送</translation>
    </message>
    <message>
        <source>Message:</source>
        <translation>消息：</translation>
    </message>
</context>
<context>
    <name>phidesk::ui::CodePage</name>
    <message>
        <source>Write or open code, put the cursor where code should continue, and press Complete (Ctrl+Space).</source>
        <translation>编写或打开代码，把光标放在需要续写的位置，然后点击“补全”（Ctrl+Space）。</translation>
    </message>
    <message>
        <source>Open…</source>
        <translation>打开…</translation>
    </message>
    <message>
        <source>Complete at cursor</source>
        <translation>在光标处补全</translation>
    </message>
    <message>
        <source>Accept</source>
        <translation>接受</translation>
    </message>
    <message>
        <source>Reject</source>
        <translation>拒绝</translation>
    </message>
    <message>
        <source>Describe the code to write, e.g. “Write a C++ function that reverses a string.”</source>
        <translation>描述要编写的代码，例如“编写一个反转字符串的 C++ 函数。”</translation>
    </message>
    <message>
        <source>Generate</source>
        <translation>生成</translation>
    </message>
    <message>
        <source>Insert at cursor</source>
        <translation>插入到光标处</translation>
    </message>
    <message>
        <source>Code</source>
        <translation>代码</translation>
    </message>
    <message>
        <source>Open code</source>
        <translation>打开代码</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>打开</translation>
    </message>
    <message>
        <source>Cannot read %1: %2</source>
        <translation>无法读取 %1：%2</translation>
    </message>
</context>
<context>
    <name>phidesk::ui::ConversationStore</name>
    <message>
        <source>Cannot open the conversation database %1: %2</source>
        <translation>无法打开对话数据库 %1：%2</translation>
    </message>
    <message>
        <source>You</source>
        <translation>你</translation>
    </message>
    <message>
        <source>Assistant</source>
        <translation>助手</translation>
    </message>
    <message>
        <source>*(answer stopped)*

</source>
        <translation>*（回答已停止）*

</translation>
    </message>
</context>
<context>
    <name>phidesk::ui::EngineWorker</name>
    <message>
        <source>No model is loaded.</source>
        <translation>尚未加载模型。</translation>
    </message>
</context>
<context>
    <name>phidesk::ui::MainWindow</name>
    <message>
        <source>PhiDesk</source>
        <translation>PhiDesk</translation>
    </message>
    <message>
        <source>&amp;Chat</source>
        <translation>聊天(&amp;C)</translation>
    </message>
    <message>
        <source>C&amp;ode</source>
        <translation>代码(&amp;O)</translation>
    </message>
    <message>
        <source>&amp;Summarize</source>
        <translation>摘要(&amp;S)</translation>
    </message>
    <message>
        <source>Loaded %1</source>
        <translation>已加载 %1</translation>
    </message>
    <message>
        <source>The model could not be loaded</source>
        <translation>无法加载模型</translation>
    </message>
    <message>
        <source>Conversations are not saved</source>
        <translation>对话未被保存</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>Open &amp;model file (.phz)…</source>
        <translation>打开模型文件 (.phz)(&amp;M)…</translation>
    </message>
    <message>
        <source>Open Hugging Face &amp;folder…</source>
        <translation>打开 Hugging Face 文件夹(&amp;F)…</translation>
    </message>
    <message>
        <source>&amp;Convert Hugging Face folder to .phz…</source>
        <translation>将 Hugging Face 文件夹转换为 .phz(&amp;C)…</translation>
    </message>
    <message>
        <source>Load the &amp;demo model</source>
        <translation>加载演示模型(&amp;D)</translation>
    </message>
    <message>
        <source>&amp;Get a model…</source>
        <translation>获取模型(&amp;G)…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>编辑(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation>设置(&amp;S)…</translation>
    </message>
    <message>
        <source>C&amp;hat</source>
        <translation>聊天(&amp;H)</translation>
    </message>
    <message>
        <source>&amp;New conversation</source>
        <translation>新建对话(&amp;N)</translation>
    </message>
    <message>
        <source>&amp;Send</source>
        <translation>发送(&amp;S)</translation>
    </message>
    <message>
        <source>S&amp;top</source>
        <translation>停止(&amp;T)</translation>
    </message>
    <message>
        <source>&amp;Copy last answer</source>
        <translation>复制上一条回答(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Complete at cursor</source>
        <translation>在光标处补全(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Accept suggestion</source>
        <translation>接受建议(&amp;A)</translation>
    </message>
    <message>
        <source>&amp;Reject suggestion</source>
        <translation>拒绝建议(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>&amp;About PhiDesk</source>
        <translation>关于 PhiDesk(&amp;A)</translation>
    </message>
    <message>
        <source>About PhiDesk</source>
        <translation>关于 PhiDesk</translation>
    </message>
    <message>
        <source>&lt;b&gt;PhiDesk %1&lt;/b&gt;&lt;p&gt;A local assistant for Microsoft's Phi models. Nothing leaves this computer.&lt;/p&gt;</source>
        <translation>&lt;b&gt;PhiDesk %1&lt;/b&gt;&lt;p&gt;微软 Phi 模型的本地助手。任何数据都不会离开这台电脑。&lt;/p&gt;</translation>
    </message>
    <message>
        <source>No model</source>
        <translation>没有模型</translation>
    </message>
    <message>
        <source>No model is configured and the bundled demo model was not found.</source>
        <translation>尚未配置模型，也找不到自带的演示模型。</translation>
    </message>
    <message>
        <source>Open model</source>
        <translation>打开模型</translation>
    </message>
    <message>
        <source>PhiDesk models (*.phz)</source>
        <translation>PhiDesk 模型 (*.phz)</translation>
    </message>
    <message>
        <source>Open a Hugging Face checkpoint folder</source>
        <translation>打开 Hugging Face 检查点文件夹</translation>
    </message>
    <message>
        <source>Hugging Face checkpoint folder to convert</source>
        <translation>要转换的 Hugging Face 检查点文件夹</translation>
    </message>
    <message>
        <source>Save the .phz model as</source>
        <translation>将 .phz 模型另存为</translation>
    </message>
    <message>
        <source>Convert</source>
        <translation>转换</translation>
    </message>
    <message>
        <source>Weights:</source>
        <translation>权重：</translation>
    </message>
    <message>
        <source>Converting…</source>
        <translation>正在转换…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Converting %1</source>
        <translation>正在转换 %1</translation>
    </message>
    <message>
        <source>Conversion failed</source>
        <translation>转换失败</translation>
    </message>
    <message>
        <source>Converted</source>
        <translation>转换完成</translation>
    </message>
    <message>
        <source>Wrote %1. Load it now?</source>
        <translation>已写入 %1。现在加载吗？</translation>
    </message>
</context>
<context>
    <name>phidesk::ui::MarkdownView</name>
    <message>
        <source>Copy code</source>
        <translation>复制代码</translation>
    </message>
</context>
<context>
    <name>phidesk::ui::ModelBar</name>
    <message>
        <source>No model</source>
        <translation>没有模型</translation>
    </message>
    <message>
        <source>Loading %1…</source>
        <translation>正在加载 %1…</translation>
    </message>
    <message>
        <source>&lt;b&gt;%1&lt;/b&gt; (demo model: it only recites a few fixed texts)</source>
        <translation>&lt;b&gt;%1&lt;/b&gt;（演示模型：只会复述几段固定文字）</translation>
    </message>
    <message>
        <source>&lt;b&gt;%1&lt;/b&gt;</source>
        <translation>&lt;b&gt;%1&lt;/b&gt;</translation>
    </message>
    <message>
        <source>Backend: %1</source>
        <translation>后端：%1</translation>
    </message>
    <message>
        <source>Memory: %1 weights + %2 context cache</source>
        <translation>内存：权重 %1 + 上下文缓存 %2</translation>
    </message>
    <message>
        <source>Context: 0 / %1</source>
        <translation>上下文：0 / %1</translation>
    </message>
    <message>
        <source>No model loaded: %1</source>
        <translation>未加载模型：%1</translation>
    </message>
    <message>
        <source>Context: %1 / %2</source>
        <translation>上下文：%1 / %2</translation>
    </message>
    <message>
        <source>Last answer: %1 tokens/s</source>
        <translation>上一条回答：%1 词元/秒</translation>
    </message>
</context>
<context>
    <name>phidesk::ui::SettingsDialog</name>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Chat</source>
        <translation>聊天</translation>
    </message>
    <message>
        <source>Code</source>
        <translation>代码</translation>
    </message>
    <message>
        <source>Summary</source>
        <translation>摘要</translation>
    </message>
    <message>
        <source>User name:</source>
        <translation>用户名称：</translation>
    </message>
    <message>
        <source>Assistant name:</source>
        <translation>助手名称：</translation>
    </message>
    <message>
        <source>Templates (JSON):</source>
        <translation>模板（JSON）：</translation>
    </message>
    <message>
        <source>Prompts</source>
        <translation>提示词</translation>
    </message>
    <message>
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <source>GPU (CUDA)</source>
        <translation>GPU（CUDA）</translation>
    </message>
    <message>
        <source>one per physical core</source>
        <translation>每个物理核心一个</translation>
    </message>
    <message>
        <source>Backend:</source>
        <translation>后端：</translation>
    </message>
    <message>
        <source>CPU threads:</source>
        <translation>CPU 线程数：</translation>
    </message>
    <message>
        <source>float32 (default)</source>
        <translation>float32（默认）</translation>
    </message>
    <message>
        <source>float16 (half the memory)</source>
        <translation>float16（内存减半）</translation>
    </message>
    <message>
        <source>How the CPU backend keeps each token&apos;s keys and values. float16 halves their memory and speeds up answers after a long conversation or document, and rounds them slightly. A GPU keeps float32.</source>
        <translation>CPU 后端保存每个词元的键和值的格式。float16 使其内存减半，并加快长对话或长文档之后的回答速度，但会略微舍入数值。GPU 始终使用 float32。</translation>
    </message>
    <message>
        <source>KV cache:</source>
        <translation>KV 缓存：</translation>
    </message>
    <message>
        <source>The Hugging Face hub, or a mirror with the same URL layout, that models are downloaded from</source>
        <translation>下载模型所用的 Hugging Face Hub，或采用相同 URL 结构的镜像</translation>
    </message>
    <message>
        <source>Model hub:</source>
        <translation>模型仓库：</translation>
    </message>
    <message>
        <source>Engine</source>
        <translation>引擎</translation>
    </message>
    <message>
        <source>off</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Temperature (0 = greedy):</source>
        <translation>温度（0 = 贪心）：</translation>
    </message>
    <message>
        <source>Top-k:</source>
        <translation>Top-k：</translation>
    </message>
    <message>
        <source>Top-p:</source>
        <translation>Top-p：</translation>
    </message>
    <message>
        <source>Min-p:</source>
        <translation>Min-p：</translation>
    </message>
    <message>
        <source>Repetition penalty:</source>
        <translation>重复惩罚：</translation>
    </message>
    <message>
        <source>Longest answer (tokens):</source>
        <translation>最长回答（词元）：</translation>
    </message>
    <message>
        <source>The templates are not a valid JSON object.</source>
        <translation>模板不是有效的 JSON 对象。</translation>
    </message>
</context>
<context>
    <name>phidesk::ui::SummarizePage</name>
    <message>
        <source>Paste a text, or open a .txt or .md file.</source>
        <translation>粘贴文本，或打开 .txt 或 .md 文件。</translation>
    </message>
    <message>
        <source>Open…</source>
        <translation>打开…</translation>
    </message>
    <message>
        <source>Short (one sentence)</source>
        <translation>简短（一句话）</translation>
    </message>
    <message>
        <source>Medium (three sentences)</source>
        <translation>中等（三句话）</translation>
    </message>
    <message>
        <source>Bullet points</source>
        <translation>要点列表</translation>
    </message>
    <message>
        <source>Summarize</source>
        <translation>生成摘要</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <source>Export…</source>
        <translation>导出…</translation>
    </message>
    <message>
        <source>Part %1 of %2</source>
        <translation>第 %1 部分，共 %2 部分</translation>
    </message>
    <message>
        <source>Combining summaries: %1 of %2</source>
        <translation>正在合并摘要：%1 / %2</translation>
    </message>
    <message>
        <source>Cancelled: the summary covers only the parts done.</source>
        <translation>已取消：摘要只包含已完成的部分。</translation>
    </message>
    <message>
        <source>Done.</source>
        <translation>完成。</translation>
    </message>
    <message>
        <source>Error: %1</source>
        <translation>错误：%1</translation>
    </message>
    <message>
        <source>Reading the text…</source>
        <translation>正在读取文本…</translation>
    </message>
    <message>
        <source>Open text</source>
        <translation>打开文本</translation>
    </message>
    <message>
        <source>Text (*.txt *.md);;All files (*)</source>
        <translation>文本 (*.txt *.md);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>打开</translation>
    </message>
    <message>
        <source>Cannot read %1: %2</source>
        <translation>无法读取 %1：%2</translation>
    </message>
    <message>
        <source>Export summary</source>
        <translation>导出摘要</translation>
    </message>
    <message>
        <source>Markdown (*.md);;Text (*.txt)</source>
        <translation>Markdown (*.md);;文本 (*.txt)</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <source>Cannot write %1: %2</source>
        <translation>无法写入 %1：%2</translation>
    </message>
</context>
<context>
    <name>phidesk::ui::WelcomePage</name>
    <message>
        <source>&lt;h2&gt;Welcome to PhiDesk&lt;/h2&gt;&lt;p&gt;PhiDesk runs Microsoft's Phi models on this computer; nothing you type leaves it. Choose a model to begin.&lt;/p&gt;</source>
        <translation>&lt;h2&gt;欢迎使用 PhiDesk&lt;/h2&gt;&lt;p&gt;PhiDesk 在这台电脑上运行微软的 Phi 模型，你输入的任何内容都不会离开它。请选择一个模型开始。&lt;/p&gt;</translation>
    </message>
    <message>
        <source>Start with the &amp;demo model</source>
        <translation>使用演示模型开始(&amp;D)</translation>
    </message>
    <message>
        <source>A 14M-parameter model that only recites a few texts about Phi: for trying the app</source>
        <translation>一个 1400 万参数的模型，只会复述几段关于 Phi 的文字，用于试用本应用</translation>
    </message>
    <message>
        <source>Open a .&amp;phz model…</source>
        <translation>打开 .phz 模型(&amp;P)…</translation>
    </message>
    <message>
        <source>Open a Hugging Face &amp;folder…</source>
        <translation>打开 Hugging Face 文件夹(&amp;F)…</translation>
    </message>
    <message>
        <source>microsoft/phi-2</source>
        <translation>microsoft/phi-2</translation>
    </message>
    <message>
        <source>microsoft/phi-1_5</source>
        <translation>microsoft/phi-1_5</translation>
    </message>
    <message>
        <source>as published (16-bit, phi-2: 5.6 GB)</source>
        <translation>原始精度（16 位，phi-2：5.6 GB）</translation>
    </message>
    <message>
        <source>8-bit (phi-2: 2.9 GB)</source>
        <translation>8 位（phi-2：2.9 GB）</translation>
    </message>
    <message>
        <source>4-bit (phi-2: 1.8 GB, lower quality)</source>
        <translation>4 位（phi-2：1.8 GB，质量较低）</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <source>Download models into</source>
        <translation>将模型下载到</translation>
    </message>
    <message>
        <source>Delete the downloaded files once the .phz model is written</source>
        <translation>写入 .phz 模型后删除下载的文件</translation>
    </message>
    <message>
        <source>Download and &amp;convert</source>
        <translation>下载并转换(&amp;C)</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Download a model from Hugging Face</source>
        <translation>从 Hugging Face 下载模型</translation>
    </message>
    <message>
        <source>Model:</source>
        <translation>模型：</translation>
    </message>
    <message>
        <source>Weights:</source>
        <translation>权重：</translation>
    </message>
    <message>
        <source>Folder:</source>
        <translation>文件夹：</translation>
    </message>
    <message>
        <source>Asking %1 for the files of %2…</source>
        <translation>正在向 %1 查询 %2 的文件…</translation>
    </message>
    <message>
        <source>Converting to .phz: %1 / %2 MB (%3)</source>
        <translation>正在转换为 .phz：%1 / %2 MB（%3）</translation>
    </message>
    <message>
        <source>Checking the SHA-256 of %1…</source>
        <translation>正在校验 %1 的 SHA-256…</translation>
    </message>
    <message>
        <source>Downloading %1: %2 / %3 MB, %4 MB/s, about %5 s left</source>
        <translation>正在下载 %1：%2 / %3 MB，%4 MB/s，约剩 %5 秒</translation>
    </message>
    <message>
        <source>Stopped. The files downloaded so far are kept: start again to resume.</source>
        <translation>已停止。已下载的文件会保留：再次开始即可继续。</translation>
    </message>
    <message>
        <source>The download failed: %1</source>
        <translation>下载失败：%1</translation>
    </message>
    <message>
        <source>Ready: %1</source>
        <translation>就绪：%1</translation>
    </message>
</context>
</TS>