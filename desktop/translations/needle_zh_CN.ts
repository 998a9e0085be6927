<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name></name>
    <message>
        <location filename="../about.py" line="24"/>
        <source>Ask questions of your own notes and PDFs, offline, with a local model.</source>
        <translation>用本地模型离线地向你自己的笔记和 PDF 提问。</translation>
    </message>
    <message>
        <location filename="../about.py" line="47"/>
        <source>Version {version}</source>
        <translation>版本 {version}</translation>
    </message>
    <message>
        <location filename="../about.py" line="55"/>
        <source>Engine {version}</source>
        <translation>引擎 {version}</translation>
    </message>
    <message>
        <location filename="../about.py" line="57"/>
        <source>protocol {version}</source>
        <translation>协议 {version}</translation>
    </message>
    <message>
        <location filename="../about.py" line="61"/>
        <source>Data: {folder}</source>
        <translation>数据：{folder}</translation>
    </message>
    <message>
        <location filename="../about.py" line="66"/>
        <source>MIT licence</source>
        <translation>MIT 许可证</translation>
    </message>
    <message>
        <location filename="../about.py" line="69"/>
        <source>Third-party licences</source>
        <translation>第三方许可证</translation>
    </message>
    <message>
        <location filename="../about.py" line="79"/>
        <location filename="../main_window.py" line="305"/>
        <source>About {app}</source>
        <translation>关于 {app}</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="50"/>
        <location filename="../steps_timeline.py" line="132"/>
        <source>Level {level}</source>
        <translation>第 {level} 级</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="52"/>
        <source>{n} model call</source>
        <translation>{n} 次模型调用</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="52"/>
        <source>{n} model calls</source>
        <translation>{n} 次模型调用</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="56"/>
        <source>{prompt} prompt + {answer} answer tokens</source>
        <translation>提示 {prompt} + 回答 {answer} 个词元</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="63"/>
        <source>{n} passage read</source>
        <translation>读了 {n} 段</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="63"/>
        <source>{n} passages read</source>
        <translation>读了 {n} 段</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="69"/>
        <source>{n} closest passage</source>
        <translation>{n} 个最接近的段落</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="69"/>
        <source>{n} closest passages</source>
        <translation>{n} 个最接近的段落</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="74"/>
        <source>{n} probable source, not cited by the model</source>
        <translation>{n} 个可能的来源，模型未引用</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="75"/>
        <source>{n} probable sources, not cited by the model</source>
        <translation>{n} 个可能的来源，模型未引用</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="79"/>
        <source>{n} source</source>
        <translation>{n} 个来源</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="79"/>
        <source>{n} sources</source>
        <translation>{n} 个来源</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="125"/>
        <source>Answer status</source>
        <translation>回答状态</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="126"/>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="128"/>
        <source>Stop this question (Esc)</source>
        <translation>停止这个问题（Esc）</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="139"/>
        <source>Answer from what was found</source>
        <translation>用已找到的内容回答</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="249"/>
        <source>Stop reading and answer from the passages found so far ({n} state the answer); the answer is marked as coming from a partial reading</source>
        <translation>停止阅读，用目前找到的段落回答（其中 {n} 段陈述了答案）；答案会标明来自部分阅读</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="261"/>
        <source>Answering from what was found so far</source>
        <translation>正在用目前找到的内容回答</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="310"/>
        <source>from a partial reading: you stopped it after {n} passages</source>
        <translation>来自部分阅读：你在读了 {n} 段后停止了阅读</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="131"/>
        <location filename="../folders_panel.py" line="438"/>
        <location filename="../main_window.py" line="118"/>
        <source>Retry</source>
        <translation>重试</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="132"/>
        <source>Ask the same question again</source>
        <translation>再问一次同样的问题</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="142"/>
        <source>Progress of the question</source>
        <translation>问题的进度</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="146"/>
        <source>Answer</source>
        <translation>回答</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="198"/>
        <source>Ask a question about your notes and PDFs. The answer appears here with numbered citations; click one to see the passage it comes from.</source>
        <translation>就笔记和 PDF 提一个问题。回答会带编号引用显示在这里；点击引用可查看它出自哪一段。</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="216"/>
        <location filename="../ask_progress.py" line="134"/>
        <source>Starting</source>
        <translation>正在开始</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="239"/>
        <source>Working</source>
        <translation>正在处理</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="272"/>
        <source>Answered · checked against its sources</source>
        <translation>已回答 · 已与其来源核对</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="274"/>
        <source>Not supported by your documents · the closest passages are in Sources</source>
        <translation>文档不支持这个回答 · 最接近的段落在“来源”中</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="276"/>
        <source>The documents do not seem to contain the answer.</source>
        <translation>文档里似乎没有这个问题的答案。</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="278"/>
        <source>probable sources: the model did not cite any explicitly</source>
        <translation>可能的来源：模型没有明确引用任何段落</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="281"/>
        <source>no passage came with {marks}: that part is unsupported</source>
        <translation>没有段落对应 {marks}：那部分没有依据</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="304"/>
        <source>What to do:</source>
        <translation>怎么办：</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="321"/>
        <source>Click Retry to ask the question again.</source>
        <translation>点击“重试”再问一次。</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="330"/>
        <source>Stopped.</source>
        <translation>已停止。</translation>
    </message>
    <message>
        <location filename="../answer_view.py" line="330"/>
        <source>Stopped: the answer above is incomplete.</source>
        <translation>已停止：上面的回答不完整。</translation>
    </message>
    <message>
        <location filename="../ask_progress.py" line="103"/>
        <source>{doing} with {model}</source>
        <translation>{doing}，使用 {model}</translation>
    </message>
    <message>
        <location filename="../ask_progress.py" line="111"/>
        <source>Reading {done} of {total} passages</source>
        <translation>正在阅读第 {done} 段，共 {total} 段</translation>
    </message>
    <message>
        <location filename="../ask_progress.py" line="120"/>
        <source>Reading your question</source>
        <translation>正在理解你的问题</translation>
    </message>
    <message>
        <location filename="../ask_progress.py" line="122"/>
        <source>Searching your documents</source>
        <translation>正在搜索你的文档</translation>
    </message>
    <message>
        <location filename="../ask_progress.py" line="124"/>
        <location filename="../steps_timeline.py" line="285"/>
        <source>Step {n}: {question}</source>
        <translation>第 {n} 步：{question}</translation>
    </message>
    <message>
        <location filename="../ask_progress.py" line="127"/>
        <source>Deciding the next step</source>
        <translation>正在决定下一步</translation>
    </message>
    <message>
        <location filename="../ask_progress.py" line="129"/>
        <source>Checking the answer against its passages</source>
        <translation>正在核对回答与其段落</translation>
    </message>
    <message>
        <location filename="../ask_progress.py" line="131"/>
        <source>Writing the answer</source>
        <translation>正在撰写回答</translation>
    </message>
    <message>
        <location filename="../diagnostics.py" line="153"/>
        <source>Needle ran into a problem</source>
        <translation>Needle 遇到了问题</translation>
    </message>
    <message>
        <location filename="../diagnostics.py" line="162"/>
        <source>Something went wrong inside Needle. Your notes and the index are safe; you can keep working. If it happens again, copy the diagnostics below into a bug report.</source>
        <translation>Needle 内部出了问题。你的笔记和索引是安全的，可以继续使用。如果再次发生，请把下面的诊断信息复制到错误报告中。</translation>
    </message>
    <message>
        <location filename="../diagnostics.py" line="170"/>
        <source>Diagnostics</source>
        <translation>诊断信息</translation>
    </message>
    <message>
        <location filename="../diagnostics.py" line="171"/>
        <location filename="../diagnostics.py" line="203"/>
        <source>Copy diagnostics</source>
        <translation>复制诊断信息</translation>
    </message>
    <message>
        <location filename="../diagnostics.py" line="173"/>
        <location filename="../main_window.py" line="303"/>
        <source>Open logs folder</source>
        <translation>打开日志文件夹</translation>
    </message>
    <message>
        <location filename="../diagnostics.py" line="202"/>
        <source>Copied</source>
        <translation>已复制</translation>
    </message>
    <message>
        <location filename="../doctor_dialog.py" line="17"/>
        <source>Data folder</source>
        <translation>数据文件夹</translation>
    </message>
    <message>
        <location filename="../doctor_dialog.py" line="18"/>
        <location filename="../settings_dialog.py" line="132"/>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../doctor_dialog.py" line="19"/>
        <source>Catalog</source>
        <translation>目录库</translation>
    </message>
    <message>
        <location filename="../doctor_dialog.py" line="20"/>
        <source>Index</source>
        <translation>索引</translation>
    </message>
    <message>
        <location filename="../doctor_dialog.py" line="21"/>
        <location filename="../setting_texts.py" line="24"/>
        <source>Folders</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../doctor_dialog.py" line="22"/>
        <source>Ollama</source>
        <translation>Ollama</translation>
    </message>
    <message>
        <location filename="../doctor_dialog.py" line="26"/>
        <location filename="../errors.py" line="119"/>
        <source>Add a folder of notes or PDFs with Add folder… (Ctrl+O).</source>
        <translation>用“添加文件夹…”（Ctrl+O）添加一个笔记或 PDF 文件夹。</translation>
    </message>
    <message>
        <location filename="../doctor_dialog.py" line="27"/>
        <location filename="../errors.py" line="120"/>
        <source>Add a folder, or click Rescan now in the File menu.</source>
        <translation>添加一个文件夹，或点击“文件”菜单中的“立即重新扫描”。</translation>
    </message>
    <message>
        <location filename="../doctor_dialog.py" line="28"/>
        <source>Click Rescan now in the File menu.</source>
        <translation>点击“文件”菜单中的“立即重新扫描”。</translation>
    </message>
    <message>
        <location filename="../doctor_dialog.py" line="31"/>
        <source>Reconnect the drive or put the folder back, or select it in Folders and click Remove.</source>
        <translation>重新连接磁盘或把文件夹放回原处，或在“文件夹”中选中它并点击“移除”。</translation>
    </message>
    <message>
        <location filename="../doctor_dialog.py" line="37"/>
        <source>Folder {path}</source>
        <translation>文件夹 {path}</translation>
    </message>
    <message>
        <location filename="../doctor_dialog.py" line="65"/>
        <location filename="../errors.py" line="204"/>
        <location filename="../errors.py" line="262"/>
        <location filename="../steps_timeline.py" line="372"/>
        <source>What to do: {hint}</source>
        <translation>怎么办：{hint}</translation>
    </message>
    <message>
        <location filename="../doctor_dialog.py" line="96"/>
        <source>{failed} of {total} checks failed. Each says what to do.</source>
        <translation>{total} 项检查中有 {failed} 项未通过，每项都说明了怎么办。</translation>
    </message>
    <message>
        <location filename="../doctor_dialog.py" line="101"/>
        <source>Everything needed works; 1 check to look at.</source>
        <translation>必需的都正常；有 1 项检查值得一看。</translation>
    </message>
    <message>
        <location filename="../doctor_dialog.py" line="103"/>
        <source>Everything needed works; {n} checks to look at.</source>
        <translation>必需的都正常；有 {n} 项检查值得一看。</translation>
    </message>
    <message>
        <location filename="../doctor_dialog.py" line="106"/>
        <source>All {n} checks passed.</source>
        <translation>全部 {n} 项检查都通过了。</translation>
    </message>
    <message>
        <location filename="../doctor_dialog.py" line="112"/>
        <source>Check setup</source>
        <translation>检查设置</translation>
    </message>
    <message>
        <location filename="../doctor_dialog.py" line="118"/>
        <source>Setup checks</source>
        <translation>设置检查</translation>
    </message>
    <message>
        <location filename="../errors.py" line="28"/>
        <source>The request was not valid</source>
        <translation>请求无效</translation>
    </message>
    <message>
        <location filename="../errors.py" line="29"/>
        <source>Some settings are not valid</source>
        <translation>有些设置无效</translation>
    </message>
    <message>
        <location filename="../errors.py" line="30"/>
        <source>A setting is not valid</source>
        <translation>某个设置无效</translation>
    </message>
    <message>
        <location filename="../errors.py" line="31"/>
        <source>An ignore pattern is not valid</source>
        <translation>某个忽略规则无效</translation>
    </message>
    <message>
        <location filename="../errors.py" line="32"/>
        <source>The folder does not exist</source>
        <translation>文件夹不存在</translation>
    </message>
    <message>
        <location filename="../errors.py" line="33"/>
        <source>That is not a folder</source>
        <translation>那不是一个文件夹</translation>
    </message>
    <message>
        <location filename="../errors.py" line="34"/>
        <source>The folder cannot be read</source>
        <translation>无法读取该文件夹</translation>
    </message>
    <message>
        <location filename="../errors.py" line="35"/>
        <source>That folder is already watched</source>
        <translation>该文件夹已在监视中</translation>
    </message>
    <message>
        <location filename="../errors.py" line="36"/>
        <source>That folder overlaps one already watched</source>
        <translation>该文件夹与已监视的文件夹重叠</translation>
    </message>
    <message>
        <location filename="../errors.py" line="37"/>
        <source>That folder is not watched</source>
        <translation>该文件夹未被监视</translation>
    </message>
    <message>
        <location filename="../errors.py" line="38"/>
        <source>That folder belongs to the system</source>
        <translation>该文件夹属于系统</translation>
    </message>
    <message>
        <location filename="../errors.py" line="38"/>
        <source>No folders are watched yet</source>
        <translation>还没有监视任何文件夹</translation>
    </message>
    <message>
        <location filename="../errors.py" line="39"/>
        <source>The chosen scope is not indexed</source>
        <translation>所选范围尚未建立索引</translation>
    </message>
    <message>
        <location filename="../errors.py" line="40"/>
        <source>The chosen scope holds no indexed text</source>
        <translation>所选范围没有已索引的文本</translation>
    </message>
    <message>
        <location filename="../errors.py" line="41"/>
        <source>The search could not be read</source>
        <translation>无法理解这个搜索</translation>
    </message>
    <message>
        <location filename="../errors.py" line="42"/>
        <source>That level does not exist</source>
        <translation>没有这个级别</translation>
    </message>
    <message>
        <location filename="../errors.py" line="43"/>
        <source>That way of reading the question does not exist</source>
        <translation>没有这种理解问题的方式</translation>
    </message>
    <message>
        <location filename="../errors.py" line="44"/>
        <source>The question is empty</source>
        <translation>问题是空的</translation>
    </message>
    <message>
        <location filename="../errors.py" line="45"/>
        <source>The question is too long</source>
        <translation>问题太长</translation>
    </message>
    <message>
        <location filename="../errors.py" line="46"/>
        <source>Another Needle is updating the index</source>
        <translation>另一个 Needle 正在更新索引</translation>
    </message>
    <message>
        <location filename="../errors.py" line="48"/>
        <source>The data folder cannot be used</source>
        <translation>无法使用该数据文件夹</translation>
    </message>
    <message>
        <location filename="../errors.py" line="49"/>
        <source>The settings file is damaged</source>
        <translation>设置文件已损坏</translation>
    </message>
    <message>
        <location filename="../errors.py" line="50"/>
        <source>The settings file cannot be read</source>
        <translation>无法读取设置文件</translation>
    </message>
    <message>
        <location filename="../errors.py" line="51"/>
        <source>The library is closed</source>
        <translation>资料库已关闭</translation>
    </message>
    <message>
        <location filename="../errors.py" line="52"/>
        <source>The library&apos;s catalog is damaged</source>
        <translation>资料库的目录已损坏</translation>
    </message>
    <message>
        <location filename="../errors.py" line="53"/>
        <source>The library was made by a newer Needle</source>
        <translation>该资料库由更新版本的 Needle 创建</translation>
    </message>
    <message>
        <location filename="../errors.py" line="54"/>
        <source>There is no index yet</source>
        <translation>还没有索引</translation>
    </message>
    <message>
        <location filename="../errors.py" line="55"/>
        <source>The index was built by another version</source>
        <translation>索引由另一个版本建立</translation>
    </message>
    <message>
        <location filename="../errors.py" line="56"/>
        <source>The index is damaged</source>
        <translation>索引已损坏</translation>
    </message>
    <message>
        <location filename="../errors.py" line="57"/>
        <source>Another Needle is using this library</source>
        <translation>另一个 Needle 正在使用这个资料库</translation>
    </message>
    <message>
        <location filename="../errors.py" line="58"/>
        <source>The search engine is closing</source>
        <translation>搜索引擎正在关闭</translation>
    </message>
    <message>
        <location filename="../errors.py" line="59"/>
        <source>The answer cache cannot be used</source>
        <translation>无法使用回答缓存</translation>
    </message>
    <message>
        <location filename="../errors.py" line="61"/>
        <source>The PDF is encrypted</source>
        <translation>PDF 已加密</translation>
    </message>
    <message>
        <location filename="../errors.py" line="62"/>
        <source>The file is damaged</source>
        <translation>文件已损坏</translation>
    </message>
    <message>
        <location filename="../errors.py" line="63"/>
        <source>The file is too large</source>
        <translation>文件太大</translation>
    </message>
    <message>
        <location filename="../errors.py" line="64"/>
        <source>The file is not text</source>
        <translation>文件不是文本</translation>
    </message>
    <message>
        <location filename="../errors.py" line="65"/>
        <source>The file cannot be read</source>
        <translation>无法读取文件</translation>
    </message>
    <message>
        <location filename="../errors.py" line="66"/>
        <source>The file is gone</source>
        <translation>文件已不存在</translation>
    </message>
    <message>
        <location filename="../errors.py" line="67"/>
        <source>The file has no text to read</source>
        <translation>文件中没有可读取的文本</translation>
    </message>
    <message>
        <location filename="../errors.py" line="68"/>
        <source>Part of the file could not be read</source>
        <translation>文件的一部分无法读取</translation>
    </message>
    <message>
        <location filename="../errors.py" line="69"/>
        <source>That kind of file is not supported</source>
        <translation>不支持这种文件</translation>
    </message>
    <message>
        <location filename="../errors.py" line="70"/>
        <source>The link points at itself</source>
        <translation>链接指向自身</translation>
    </message>
    <message>
        <location filename="../errors.py" line="72"/>
        <source>The link points outside your folders</source>
        <translation>链接指向您的文件夹之外</translation>
    </message>
    <message>
        <location filename="../errors.py" line="73"/>
        <source>The path is too long for the system to open</source>
        <translation>路径过长，系统无法打开</translation>
    </message>
    <message>
        <location filename="../errors.py" line="71"/>
        <source>Text recognition (OCR) is not installed</source>
        <translation>没有安装文字识别（OCR）</translation>
    </message>
    <message>
        <location filename="../errors.py" line="72"/>
        <source>Reading the file stopped making progress</source>
        <translation>读取该文件停滞不前</translation>
    </message>
    <message>
        <location filename="../errors.py" line="73"/>
        <source>The file looks built to harm, so it was not read</source>
        <translation>该文件看起来是为造成危害而构造的，因此没有读取</translation>
    </message>
    <message>
        <location filename="../errors.py" line="75"/>
        <source>Ollama is not running</source>
        <translation>Ollama 没有运行</translation>
    </message>
    <message>
        <location filename="../errors.py" line="76"/>
        <source>The model is not installed</source>
        <translation>模型未安装</translation>
    </message>
    <message>
        <location filename="../errors.py" line="77"/>
        <source>The model cannot use tools</source>
        <translation>该模型不能使用工具</translation>
    </message>
    <message>
        <location filename="../errors.py" line="78"/>
        <source>The language model took too long</source>
        <translation>语言模型用时太长</translation>
    </message>
    <message>
        <location filename="../errors.py" line="79"/>
        <source>The connection to Ollama was lost</source>
        <translation>与 Ollama 的连接断开了</translation>
    </message>
    <message>
        <location filename="../errors.py" line="80"/>
        <source>The language model gave an unusable reply</source>
        <translation>语言模型的回复无法使用</translation>
    </message>
    <message>
        <location filename="../errors.py" line="81"/>
        <source>The language model failed</source>
        <translation>语言模型出错</translation>
    </message>
    <message>
        <location filename="../errors.py" line="82"/>
        <source>The model could not be downloaded</source>
        <translation>无法下载模型</translation>
    </message>
    <message>
        <location filename="../errors.py" line="83"/>
        <source>The question does not fit the model&apos;s window</source>
        <translation>问题超出了模型的窗口</translation>
    </message>
    <message>
        <location filename="../errors.py" line="84"/>
        <source>The answer could not be produced</source>
        <translation>无法生成回答</translation>
    </message>
    <message>
        <location filename="../errors.py" line="86"/>
        <location filename="../errors.py" line="87"/>
        <source>The request was not understood</source>
        <translation>无法理解该请求</translation>
    </message>
    <message>
        <location filename="../errors.py" line="88"/>
        <source>The app and its engine are different versions</source>
        <translation>应用和它的引擎版本不同</translation>
    </message>
    <message>
        <location filename="../errors.py" line="89"/>
        <source>The app and its engine disagree</source>
        <translation>应用和它的引擎不一致</translation>
    </message>
    <message>
        <location filename="../errors.py" line="90"/>
        <source>The search engine restarted</source>
        <translation>搜索引擎已重新启动</translation>
    </message>
    <message>
        <location filename="../errors.py" line="91"/>
        <source>The search engine is not running</source>
        <translation>搜索引擎没有运行</translation>
    </message>
    <message>
        <location filename="../errors.py" line="92"/>
        <source>The search engine stopped</source>
        <translation>搜索引擎停止了</translation>
    </message>
    <message>
        <location filename="../errors.py" line="93"/>
        <source>The search engine could not start</source>
        <translation>搜索引擎无法启动</translation>
    </message>
    <message>
        <location filename="../errors.py" line="94"/>
        <location filename="../main_window.py" line="670"/>
        <source>The file could not be opened</source>
        <translation>无法打开文件</translation>
    </message>
    <message>
        <location filename="../errors.py" line="96"/>
        <source>Stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <location filename="../errors.py" line="97"/>
        <source>Something went wrong inside Needle</source>
        <translation>Needle 内部出了问题</translation>
    </message>
    <message>
        <location filename="../errors.py" line="104"/>
        <source>Start Ollama (open the Ollama app, or start its service), or correct the Ollama host in Settings. Needle notices when it is back.</source>
        <translation>启动 Ollama（打开 Ollama 应用，或启动它的服务），或在“设置”中更正 Ollama 地址。Ollama 恢复后 Needle 会察觉。</translation>
    </message>
    <message>
        <location filename="../errors.py" line="107"/>
        <source>Check that Ollama is still running, then click Retry.</source>
        <translation>确认 Ollama 仍在运行，然后点击“重试”。</translation>
    </message>
    <message>
        <location filename="../errors.py" line="109"/>
        <source>Download it from the panel above the answer, or choose a model you already have in Settings.</source>
        <translation>在回答上方的面板中下载它，或在“设置”中选择一个已有的模型。</translation>
    </message>
    <message>
        <location filename="../errors.py" line="113"/>
        <source>The model may be too large for this computer. Click Retry, choose a smaller model, or raise the request timeout in Settings.</source>
        <translation>这个模型对这台电脑可能太大。点击“重试”、选择一个更小的模型，或在“设置”中调高请求超时。</translation>
    </message>
    <message>
        <location filename="../errors.py" line="117"/>
        <source>Wait until the other Needle has finished, or quit it, then click Retry.</source>
        <translation>等另一个 Needle 完成，或退出它，然后点击“重试”。</translation>
    </message>
    <message>
        <location filename="../errors.py" line="122"/>
        <source>Click Rescan now in the File menu: the index is rebuilt from your folders.</source>
        <translation>点击“文件”菜单中的“立即重新扫描”：索引会根据你的文件夹重建。</translation>
    </message>
    <message>
        <location filename="../errors.py" line="125"/>
        <source>Quit Needle, delete the index folder named above, and start Needle again: it rebuilds the index from your folders.</source>
        <translation>退出 Needle，删除上面提到的索引文件夹，再启动 Needle：它会根据你的文件夹重建索引。</translation>
    </message>
    <message>
        <location filename="../errors.py" line="129"/>
        <source>Quit Needle, delete the catalog file named above, and start Needle again: it rebuilds the index from your folders.</source>
        <translation>退出 Needle，删除上面提到的目录文件，再启动 Needle：它会根据你的文件夹重建索引。</translation>
    </message>
    <message>
        <location filename="../errors.py" line="133"/>
        <source>Make that folder writable, or start Needle with another data folder.</source>
        <translation>让该文件夹可写，或用另一个数据文件夹启动 Needle。</translation>
    </message>
    <message>
        <location filename="../errors.py" line="135"/>
        <source>It is in the Folders list already.</source>
        <translation>它已经在“文件夹”列表中。</translation>
    </message>
    <message>
        <location filename="../errors.py" line="137"/>
        <source>A file is watched through one folder only: keep the folder you have, or remove it first and add the other one.</source>
        <translation>一个文件只通过一个文件夹监视：保留现有的文件夹，或先移除它再添加另一个。</translation>
    </message>
    <message>
        <location filename="../errors.py" line="141"/>
        <location filename="../errors.py" line="144"/>
        <source>Choose another scope, or wait until the folder has been indexed.</source>
        <translation>选择另一个范围，或等该文件夹索引完成。</translation>
    </message>
    <message>
        <location filename="../errors.py" line="147"/>
        <location filename="../errors.py" line="150"/>
        <source>Click Retry. If it keeps happening, Help → Open logs folder shows why.</source>
        <translation>点击“重试”。如果反复出现，“帮助 → 打开日志文件夹”中有原因。</translation>
    </message>
    <message>
        <location filename="../errors.py" line="153"/>
        <source>Try again. If it happens again, Help → Open logs folder has the details for a bug report.</source>
        <translation>再试一次。如果再次出现，“帮助 → 打开日志文件夹”中有可用于错误报告的详情。</translation>
    </message>
    <message>
        <location filename="../errors.py" line="224"/>
        <source>Needle could not finish what you asked.</source>
        <translation>Needle 无法完成你的请求。</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="80"/>
        <source>1 file with problems</source>
        <translation>1 个文件有问题</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="82"/>
        <source>{n} files with problems</source>
        <translation>{n} 个文件有问题</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="90"/>
        <source>folder not found</source>
        <translation>找不到文件夹</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="99"/>
        <source>scanning…</source>
        <translation>正在扫描…</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="101"/>
        <source>indexing {done}/{total}</source>
        <translation>正在索引 {done}/{total}</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="107"/>
        <source>{n} waiting</source>
        <translation>{n} 个等待中</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="109"/>
        <source>not indexed yet</source>
        <translation>尚未索引</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="111"/>
        <source>up to date · polling (no live watch)</source>
        <translation>已是最新 · 轮询（无实时监视）</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="112"/>
        <source>up to date</source>
        <translation>已是最新</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="116"/>
        <source>1 file</source>
        <translation>1 个文件</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="116"/>
        <source>{n} files</source>
        <translation>{n} 个文件</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="154"/>
        <source>Folder {name}: {files}, {state}</source>
        <translation>文件夹 {name}：{files}，{state}</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="173"/>
        <source>FOLDERS</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="177"/>
        <source>Watched folders</source>
        <translation>监视的文件夹</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="178"/>
        <source>Select a folder to search and ask only there</source>
        <translation>选择一个文件夹，只在其中搜索和提问</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="187"/>
        <location filename="../main_window.py" line="290"/>
        <source>Add folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="190"/>
        <source>Rescan</source>
        <translation>重新扫描</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="191"/>
        <source>Bring the index up to date with the disk now</source>
        <translation>立即让索引与磁盘保持一致</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="193"/>
        <location filename="../folders_panel.py" line="328"/>
        <source>Remove…</source>
        <translation>移除…</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="195"/>
        <source>Stop watching the selected folder (its files stay on disk)</source>
        <translation>停止监视所选文件夹（文件仍留在磁盘上）</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="251"/>
        <source>Add a folder to search</source>
        <translation>添加一个要搜索的文件夹</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="319"/>
        <source>Search only here</source>
        <translation>只搜索这里</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="321"/>
        <source>Show in file manager</source>
        <translation>在文件管理器中显示</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="329"/>
        <source>Search every folder</source>
        <translation>搜索所有文件夹</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="330"/>
        <location filename="../main_window.py" line="291"/>
        <source>Rescan now</source>
        <translation>立即重新扫描</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="347"/>
        <source>Remove folder</source>
        <translation>移除文件夹</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="348"/>
        <source>Stop watching {name}?</source>
        <translation>停止监视 {name}？</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="351"/>
        <source>Its {files} leave the index and Needle stops following it. The files themselves are not touched, and you can add the folder again at any time.</source>
        <translation>其中的 {files}将离开索引，Needle 不再跟踪它。文件本身不会被改动，你随时可以再次添加这个文件夹。</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="355"/>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="393"/>
        <source>Problems in {name}</source>
        <translation>{name} 中的问题</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="398"/>
        <source>1 file in {folder} could not be fully indexed.</source>
        <translation>{folder} 中有 1 个文件未能完整索引。</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="400"/>
        <source>{n} files in {folder} could not be fully indexed.</source>
        <translation>{folder} 中有 {n} 个文件未能完整索引。</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="403"/>
        <source>They are tried again when they change, or now with Retry.</source>
        <translation>它们在改动后会被重新读取，也可以现在点击“重试”。</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="407"/>
        <source>Files with problems</source>
        <translation>有问题的文件</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="408"/>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="408"/>
        <source>Problem</source>
        <translation>问题</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="434"/>
        <location filename="../results_view.py" line="169"/>
        <location filename="../results_view.py" line="665"/>
        <location filename="../sources_panel.py" line="77"/>
        <source>Open</source>
        <translation>打开</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="436"/>
        <location filename="../main_window.py" line="682"/>
        <location filename="../results_view.py" line="666"/>
        <location filename="../sources_panel.py" line="77"/>
        <source>Show in folder</source>
        <translation>在文件夹中显示</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="439"/>
        <source>Read the selected files again (all of them if none is)</source>
        <translation>重新读取所选文件（未选时全部读取）</translation>
    </message>
    <message>
        <location filename="../folders_panel.py" line="487"/>
        <source>Reading {n} files again…</source>
        <translation>正在重新读取 {n} 个文件…</translation>
    </message>
    <message>
        <location filename="../i18n.py" line="39"/>
        <location filename="../theme.py" line="37"/>
        <source>Same as the system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="117"/>
        <source>Notice</source>
        <translation>通知</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="120"/>
        <source>Dismiss</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="220"/>
        <location filename="../sources_panel.py" line="157"/>
        <source>Sources</source>
        <translation>来源</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="221"/>
        <source>Steps</source>
        <translation>步骤</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="289"/>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="292"/>
        <source>Settings…</source>
        <translation>设置…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="294"/>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="295"/>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="296"/>
        <location filename="../query_bar.py" line="76"/>
        <location filename="../query_bar.py" line="95"/>
        <location filename="../query_bar.py" line="183"/>
        <source>Search</source>
        <translation>搜索</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="297"/>
        <location filename="../query_bar.py" line="78"/>
        <location filename="../query_bar.py" line="183"/>
        <source>Ask</source>
        <translation>提问</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="298"/>
        <source>Focus the query</source>
        <translation>聚焦到查询框</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="300"/>
        <source>Check Ollama again</source>
        <translation>再次检查 Ollama</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="301"/>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="302"/>
        <source>Check setup…</source>
        <translation>检查设置…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="334"/>
        <source>Engine ready</source>
        <translation>引擎已就绪</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="342"/>
        <source>The search engine stopped ({reason}). Restarting it…</source>
        <translation>搜索引擎停止了（{reason}）。正在重新启动…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="344"/>
        <source>Engine restarting…</source>
        <translation>引擎正在重新启动…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="353"/>
        <source>The engine was restarted (attempt {n}).</source>
        <translation>引擎已重新启动（第 {n} 次）。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="361"/>
        <source>Engine unavailable</source>
        <translation>引擎不可用</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="366"/>
        <source>Starting the search engine…</source>
        <translation>正在启动搜索引擎…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="424"/>
        <location filename="../onboarding.py" line="233"/>
        <source>Checking Ollama…</source>
        <translation>正在检查 Ollama…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="439"/>
        <source>Ollama is running again.</source>
        <translation>Ollama 又在运行了。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="476"/>
        <source>Type to search. Words match in any form (notes, noting), the last word as you type it (sourd: sourdough), quotes match a phrase (&quot;exact words&quot;), and ext:pdf limits the type. Down moves into the results; Enter shows one in Sources, Ctrl+Enter opens it.</source>
        <translation>输入即可搜索。词的各种形式都能匹配（notes、noting），最后一个词按输入的前缀匹配（sourd：sourdough），引号匹配短语（&quot;exact words&quot;），ext:pdf 限定文件类型。按 ↓ 进入结果；Enter 在“来源”中显示，Ctrl+Enter 打开。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="592"/>
        <source>The previous level did not find a supported answer; Level {level} is looking further…</source>
        <translation>上一级没有找到有依据的回答；第 {level} 级正在进一步查找…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="598"/>
        <source>That draft was not supported by its passages; looking further…</source>
        <translation>这份草稿没有得到其段落的支持；正在进一步查找…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="673"/>
        <source>{path} is not there any more: it was moved, renamed or deleted. Needle updates the index when it notices.</source>
        <translation>{path} 已不在原处：它被移动、重命名或删除了。Needle 察觉后会更新索引。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="678"/>
        <source>No application opened {path}. Show it in its folder and open it from there, or copy its path.</source>
        <translation>没有应用能打开 {path}。可在文件夹中显示它并从那里打开，或复制它的路径。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="684"/>
        <location filename="../results_view.py" line="667"/>
        <source>Copy path</source>
        <translation>复制路径</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="704"/>
        <source>{path} and its folder are not there any more.</source>
        <translation>{path} 及其所在文件夹都已不存在。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="709"/>
        <source>Copied {path}</source>
        <translation>已复制 {path}</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="714"/>
        <source>Adding {folder}…</source>
        <translation>正在添加 {folder}…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="735"/>
        <source>Updating the index…</source>
        <translation>正在更新索引…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="752"/>
        <source>Removing {folder}…</source>
        <translation>正在移除 {folder}…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="789"/>
        <source>Read again: {fixed} now searchable, {still} still with problems.</source>
        <translation>已重新读取：{fixed} 个现在可搜索，{still} 个仍有问题。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="815"/>
        <source>The model is ready.</source>
        <translation>模型已就绪。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="827"/>
        <source>Download cancelled.</source>
        <translation>下载已取消。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="837"/>
        <source>Answers now come from {model}.</source>
        <translation>现在由 {model} 回答。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="896"/>
        <source>The login entry could not be written: {why}</source>
        <translation>无法写入登录启动项：{why}</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="905"/>
        <source>Checking the setup…</source>
        <translation>正在检查设置…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="935"/>
        <source>The logs folder could not be opened.</source>
        <translation>无法打开日志文件夹。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="960"/>
        <source>Watching 1 folder</source>
        <translation>正在监视 1 个文件夹</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="960"/>
        <source>Watching {n} folders</source>
        <translation>正在监视 {n} 个文件夹</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1024"/>
        <source>Needle keeps watching your folders in the background. Click its icon to open it; quit it from the icon&apos;s menu.</source>
        <translation>Needle 会在后台继续监视你的文件夹。点击它的图标打开；从图标菜单退出。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="34"/>
        <source>Needle searches and answers questions about your own notes and PDFs, entirely on this computer.</source>
        <translation>Needle 在这台电脑上搜索你自己的笔记和 PDF，并回答有关它们的问题，全部在本地完成。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="42"/>
        <source>&lt;b&gt;Add a folder&lt;/b&gt; of notes (Markdown, text, HTML) or PDFs.</source>
        <translation>&lt;b&gt;添加一个文件夹&lt;/b&gt;，里面放笔记（Markdown、文本、HTML）或 PDF。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="43"/>
        <source>Needle &lt;b&gt;indexes&lt;/b&gt; it and keeps watching it for changes.</source>
        <translation>Needle 为它&lt;b&gt;建立索引&lt;/b&gt;，并持续监视其中的改动。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="45"/>
        <source>&lt;b&gt;Search&lt;/b&gt; as you type, or switch to &lt;b&gt;Ask&lt;/b&gt; for answers with citations from a local model.</source>
        <translation>边输入边&lt;b&gt;搜索&lt;/b&gt;，或切换到&lt;b&gt;提问&lt;/b&gt;，由本地模型给出带引用的回答。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="54"/>
        <source>Shortcuts: Ctrl+K focuses the query box, Down moves into the results, Enter searches or asks, Esc stops.</source>
        <translation>快捷键：Ctrl+K 聚焦查询框，↓ 进入结果，Enter 搜索或提问，Esc 停止。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="70"/>
        <source>Welcome to Needle</source>
        <translation>欢迎使用 Needle</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="75"/>
        <source>Add a folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="97"/>
        <source>Answers come from a local model served by Ollama, which is not answering at {host}.</source>
        <translation>回答来自由 Ollama 提供的本地模型，但 {host} 上的 Ollama 没有响应。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="100"/>
        <source>Install Ollama from {link} if it is not installed.</source>
        <translation>如果还没有安装 Ollama，请从 {link} 安装。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="101"/>
        <source>Start it: open the Ollama app (on Linux, start the ollama service).</source>
        <translation>启动它：打开 Ollama 应用（在 Linux 上启动 ollama 服务）。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="102"/>
        <source>Click &lt;b&gt;Check again&lt;/b&gt;.</source>
        <translation>点击&lt;b&gt;再次检查&lt;/b&gt;。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="105"/>
        <source>Search works without it.</source>
        <translation>没有它也可以搜索。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="111"/>
        <source>Ollama is running, but the model {model} is not on this computer.</source>
        <translation>Ollama 正在运行，但这台电脑上没有模型 {model}。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="117"/>
        <source>Use a model you already have (it answers at once), or download {model} (a few GB; it happens once).</source>
        <translation>使用一个已有的模型（立即可用），或下载 {model}（几 GB，只需一次）。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="125"/>
        <source>Ollama is running, but the model {model} is not on this computer yet.</source>
        <translation>Ollama 正在运行，但这台电脑上还没有模型 {model}。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="130"/>
        <source>Click &lt;b&gt;Download the model&lt;/b&gt; to get it (a few GB; it happens once), or choose another model in Settings.</source>
        <translation>点击&lt;b&gt;下载模型&lt;/b&gt;获取它（几 GB，只需一次），或在“设置”中选择另一个模型。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="138"/>
        <source>Needle could not talk to Ollama. Check the host in Settings, then click &lt;b&gt;Check again&lt;/b&gt;.</source>
        <translation>Needle 无法与 Ollama 通信。请检查“设置”中的地址，然后点击&lt;b&gt;再次检查&lt;/b&gt;。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="146"/>
        <source>downloading</source>
        <translation>正在下载</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="179"/>
        <source>Download progress</source>
        <translation>下载进度</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="185"/>
        <source>Models on this computer</source>
        <translation>这台电脑上的模型</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="187"/>
        <source>Use this model</source>
        <translation>使用这个模型</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="192"/>
        <source>Download the model</source>
        <translation>下载模型</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="195"/>
        <source>Cancel download</source>
        <translation>取消下载</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="198"/>
        <source>Check again</source>
        <translation>再次检查</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="229"/>
        <source>Start Ollama to get answers</source>
        <translation>启动 Ollama 以获得回答</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="230"/>
        <source>The model {model} is not on this computer</source>
        <translation>这台电脑上没有模型 {model}</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="231"/>
        <source>Ollama is not responding properly</source>
        <translation>Ollama 响应不正常</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="259"/>
        <source>Starting the download…</source>
        <translation>正在开始下载…</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="38"/>
        <source>All types</source>
        <translation>所有类型</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="39"/>
        <source>Markdown</source>
        <translation>Markdown</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="40"/>
        <source>Text</source>
        <translation>文本</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="41"/>
        <source>PDF</source>
        <translation>PDF</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="42"/>
        <source>HTML</source>
        <translation>HTML</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="45"/>
        <source>Any time</source>
        <translation>任何时间</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="46"/>
        <source>Past week</source>
        <translation>过去一周</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="47"/>
        <source>Past month</source>
        <translation>过去一个月</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="48"/>
        <source>Past year</source>
        <translation>过去一年</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="77"/>
        <source>Search as you type (Ctrl+1)</source>
        <translation>边输入边搜索（Ctrl+1）</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="79"/>
        <source>Ask a question, answered from your documents (Ctrl+2)</source>
        <translation>提一个问题，由你的文档回答（Ctrl+2）</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="87"/>
        <source>Query</source>
        <translation>查询</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="90"/>
        <location filename="../query_bar.py" line="91"/>
        <source>Clear the query</source>
        <translation>清空查询</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="124"/>
        <location filename="../query_bar.py" line="209"/>
        <source>All folders</source>
        <translation>所有文件夹</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="137"/>
        <source>In</source>
        <translation>位于</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="138"/>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="139"/>
        <source>Modified</source>
        <translation>修改时间</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="148"/>
        <source>Level</source>
        <translation>级别</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="148"/>
        <source>Scope</source>
        <translation>范围</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="185"/>
        <source>Ask a question about your documents, then press Enter</source>
        <translation>就你的文档提一个问题，然后按 Enter</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="187"/>
        <source>Search your notes and PDFs — results appear as you type</source>
        <translation>搜索你的笔记和 PDF — 结果随输入出现</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="233"/>
        <source>Everything</source>
        <translation>全部</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="236"/>
        <source>Folder: {name}</source>
        <translation>文件夹：{name}</translation>
    </message>
    <message>
        <location filename="../query_bar.py" line="240"/>
        <source>Selected file: {name}</source>
        <translation>所选文件：{name}</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="133"/>
        <source>1 passage</source>
        <translation>1 段</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="133"/>
        <source>{n} passages</source>
        <translation>{n} 段</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="141"/>
        <source>Best {shown} of {total} matching passages · {files} files · {ms} ms</source>
        <translation>{total} 个匹配段落中最好的 {shown} 个 · {files} 个文件 · {ms} 毫秒</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="145"/>
        <source>1 matching passage · {ms} ms</source>
        <translation>1 个匹配段落 · {ms} 毫秒</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="146"/>
        <source>{shown} matching passages in {files} files · {ms} ms</source>
        <translation>{shown} 个匹配段落，分布在 {files} 个文件中 · {ms} 毫秒</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="155"/>
        <source>ext:{ext} — .{ext} files are not indexed, so nothing can match. Search Markdown, text, HTML or PDF files, or remove the filter.</source>
        <translation>ext:{ext} — .{ext} 文件不会被索引，所以不会有匹配。请搜索 Markdown、文本、HTML 或 PDF 文件，或去掉这个筛选。</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="180"/>
        <location filename="../results_view.py" line="223"/>
        <source>Show more results</source>
        <translation>显示更多结果</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="187"/>
        <location filename="../results_view.py" line="226"/>
        <source>Show 1 more passage in {file}</source>
        <translation>显示 {file} 中的另外 1 段</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="189"/>
        <location filename="../results_view.py" line="228"/>
        <source>Show {n} more passages in {file}</source>
        <translation>显示 {file} 中的另外 {n} 段</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="206"/>
        <location filename="../results_view.py" line="237"/>
        <source>Passage</source>
        <translation>段落</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="520"/>
        <source>Search summary</source>
        <translation>搜索摘要</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="534"/>
        <source>Search results</source>
        <translation>搜索结果</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="569"/>
        <source>No matches for {query}.</source>
        <translation>没有匹配 {query} 的结果。</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="573"/>
        <source>Try fewer or different words, remove a filter, or check that the folder holding the document is watched and indexed.</source>
        <translation>试试更少或不同的词，去掉筛选，或确认包含该文档的文件夹已被监视并建立了索引。</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="664"/>
        <source>Show in Sources</source>
        <translation>在“来源”中显示</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="669"/>
        <source>Ask about this file</source>
        <translation>就这个文件提问</translation>
    </message>
    <message>
        <location filename="../rich_text.py" line="107"/>
        <source>page {page} (OCR)</source>
        <translation>第 {page} 页（OCR）</translation>
    </message>
    <message>
        <location filename="../rich_text.py" line="109"/>
        <source>page {page}</source>
        <translation>第 {page} 页</translation>
    </message>
    <message>
        <location filename="../rich_text.py" line="112"/>
        <source>OCR</source>
        <translation>OCR</translation>
    </message>
    <message>
        <location filename="../rich_text.py" line="133"/>
        <source>{ms} ms</source>
        <translation>{ms} 毫秒</translation>
    </message>
    <message>
        <location filename="../rich_text.py" line="135"/>
        <source>{s} s</source>
        <translation>{s} 秒</translation>
    </message>
    <message>
        <location filename="../rich_text.py" line="137"/>
        <source>{m} min {s} s</source>
        <translation>{m} 分 {s} 秒</translation>
    </message>
    <message>
        <location filename="../rich_text.py" line="143"/>
        <source>about {s} s left</source>
        <translation>约剩 {s} 秒</translation>
    </message>
    <message>
        <location filename="../rich_text.py" line="146"/>
        <source>about {m} min left</source>
        <translation>约剩 {m} 分钟</translation>
    </message>
    <message>
        <location filename="../rich_text.py" line="148"/>
        <source>about {h} h {m} min left</source>
        <translation>约剩 {h} 小时 {m} 分钟</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="13"/>
        <source>Ollama host</source>
        <translation>Ollama 地址</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="14"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="15"/>
        <source>Context window</source>
        <translation>上下文窗口</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="16"/>
        <source>Answer reserve</source>
        <translation>回答预留</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="17"/>
        <source>Parallel requests</source>
        <translation>并行请求</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="18"/>
        <source>Read budget (Level 2)</source>
        <translation>阅读预算（第 2 级）</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="19"/>
        <source>Step limit (Level 3)</source>
        <translation>步数上限（第 3 级）</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="20"/>
        <source>Default level</source>
        <translation>默认级别</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="21"/>
        <source>Request timeout</source>
        <translation>请求超时</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="22"/>
        <source>Largest file</source>
        <translation>最大文件</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="23"/>
        <source>Ignore patterns</source>
        <translation>忽略规则</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="28"/>
        <source>URL of the Ollama server ($OLLAMA_HOST when this is left at the default).</source>
        <translation>Ollama 服务器的 URL（保持默认值时使用 $OLLAMA_HOST）。</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="30"/>
        <source>The Ollama model that answers, e.g. qwen2:7b-instruct.</source>
        <translation>负责回答的 Ollama 模型，例如 qwen2:7b-instruct。</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="32"/>
        <source>Tokens the model reads at once (num_ctx); prompts are sized to fit it.</source>
        <translation>模型一次读取的词元数（num_ctx）；提示会按它裁剪。</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="34"/>
        <source>Tokens kept free for the answer; under half the context window.</source>
        <translation>为回答保留的词元数；小于上下文窗口的一半。</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="35"/>
        <source>Model calls Level 2 runs at once.</source>
        <translation>第 2 级同时进行的模型调用数。</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="36"/>
        <source>Chunks Level 2 may read for one question.</source>
        <translation>第 2 级回答一个问题最多阅读的段落数。</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="37"/>
        <source>Sub-questions Level 3 asks before it answers with what it has.</source>
        <translation>第 3 级在用已有信息回答之前最多提出的子问题数。</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="38"/>
        <source>The level a question is asked at unless another is chosen.</source>
        <translation>未另行选择时提问所用的级别。</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="39"/>
        <source>Seconds one model call may take.</source>
        <translation>一次模型调用最多可用的秒数。</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="40"/>
        <source>Larger files are listed as too large instead of read.</source>
        <translation>更大的文件会被列为过大，而不会被读取。</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="42"/>
        <source>Files and folders never indexed: .gitignore-style patterns such as *.log or drafts/.</source>
        <translation>永不索引的文件和文件夹：.gitignore 风格的规则，例如 *.log 或 drafts/。</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="45"/>
        <source>The folders Needle indexes (add and remove them in the Folders list, not here).</source>
        <translation>Needle 索引的文件夹（在主窗口的“文件夹”中更改，而不是这里）。</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="49"/>
        <source>tokens</source>
        <translation>词元</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="50"/>
        <source>chunks</source>
        <translation>段</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="51"/>
        <source>steps</source>
        <translation>步</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="52"/>
        <source>seconds</source>
        <translation>秒</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="53"/>
        <source>MB</source>
        <translation>MB</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="56"/>
        <source>Auto</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="57"/>
        <source>Level 1 · quick keyword answer</source>
        <translation>第 1 级 · 快速关键词回答</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="58"/>
        <source>Level 2 · read the scope closely</source>
        <translation>第 2 级 · 仔细阅读范围内容</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="59"/>
        <source>Level 3 · step by step</source>
        <translation>第 3 级 · 逐步推理</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="101"/>
        <source>more than {low} and at most {high}</source>
        <translation>大于 {low} 且不超过 {high}</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="102"/>
        <source>{low} to {high}</source>
        <translation>{low} 到 {high}</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="104"/>
        <source>more than {low}</source>
        <translation>大于 {low}</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="104"/>
        <source>at least {low}</source>
        <translation>至少 {low}</translation>
    </message>
    <message>
        <location filename="../setting_texts.py" line="107"/>
        <source>at most {high}</source>
        <translation>最多 {high}</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="77"/>
        <source>One pattern per line, e.g.
*.log
archive/</source>
        <translation>每行一个规则，例如
*.log
archive/</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="137"/>
        <source>Search and answers</source>
        <translation>搜索和回答</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="181"/>
        <source>This app</source>
        <translation>本应用</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="187"/>
        <location filename="../settings_dialog.py" line="212"/>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="188"/>
        <source>A new language shows the next time Needle starts.</source>
        <translation>新的语言会在下次启动 Needle 时生效。</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="199"/>
        <location filename="../settings_dialog.py" line="214"/>
        <source>Appearance</source>
        <translation>外观</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="200"/>
        <source>Keep Needle watching in the background</source>
        <translation>让 Needle 在后台继续监视</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="203"/>
        <source>Closing the window leaves Needle in the system tray, indexing edits as they happen. Quit it from the tray icon or File → Quit.</source>
        <translation>关闭窗口后 Needle 留在系统托盘中，随时索引改动。从托盘图标或“文件 → 退出”退出。</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="209"/>
        <source>Your desktop has no system tray for Needle&apos;s icon.</source>
        <translation>你的桌面没有可放 Needle 图标的系统托盘。</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="210"/>
        <source>Start Needle in the background when I log in</source>
        <translation>登录时在后台启动 Needle</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="263"/>
        <source>Asking {host} for its models…</source>
        <translation>正在向 {host} 询问它的模型…</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="278"/>
        <source>On the server: {models}</source>
        <translation>服务器上有：{models}</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="288"/>
        <source>Ollama answers here; it has no models yet.</source>
        <translation>Ollama 在此地址响应，但还没有模型。</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="290"/>
        <source>Ollama answers here with 1 model.</source>
        <translation>Ollama 在此地址响应，有 1 个模型。</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="292"/>
        <source>Ollama answers here with {n} models.</source>
        <translation>Ollama 在此地址响应，有 {n} 个模型。</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="295"/>
        <source>No Ollama answers at this host.</source>
        <translation>此地址没有 Ollama 响应。</translation>
    </message>
    <message>
        <location filename="../sources_panel.py" line="108"/>
        <source>No answer: these are the passages that came closest, but none of them states the answer.</source>
        <translation>没有回答：这些是最接近的段落，但都没有说出答案。</translation>
    </message>
    <message>
        <location filename="../sources_panel.py" line="115"/>
        <source>Probable sources: the model did not cite these explicitly; they are the passages that best match its answer.</source>
        <translation>可能的来源：模型没有明确引用这些段落；它们是与回答最匹配的段落。</translation>
    </message>
    <message>
        <location filename="../sources_panel.py" line="123"/>
        <source>The answer cites {marks}, but no passage came with that number: treat what it says there as unsupported.</source>
        <translation>回答引用了 {marks}，但没有段落带这个编号：那里说的内容应视为没有依据。</translation>
    </message>
    <message>
        <location filename="../sources_panel.py" line="133"/>
        <source>Sources appear here: the passages an answer cites, or the search result you open with Enter.</source>
        <translation>来源会显示在这里：回答引用的段落，或你按 Enter 打开的搜索结果。</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="37"/>
        <location filename="../status_bar.py" line="54"/>
        <source>Ollama: checking…</source>
        <translation>Ollama：正在检查…</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="42"/>
        <location filename="../status_bar.py" line="52"/>
        <source>Ollama: error</source>
        <translation>Ollama：出错</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="49"/>
        <source>Ollama connected</source>
        <translation>Ollama 已连接</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="50"/>
        <source>Ollama not running</source>
        <translation>Ollama 没有运行</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="51"/>
        <source>Model missing</source>
        <translation>缺少模型</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="67"/>
        <source>Scanning folders… {n} files found</source>
        <translation>正在扫描文件夹… 已找到 {n} 个文件</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="69"/>
        <source>Scanning folders…</source>
        <translation>正在扫描文件夹…</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="72"/>
        <source>Saving the index…</source>
        <translation>正在保存索引…</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="74"/>
        <source>Index up to date</source>
        <translation>索引已是最新</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="76"/>
        <source>Indexing {done}/{total}</source>
        <translation>正在索引 {done}/{total}</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="85"/>
        <location filename="../status_bar.py" line="95"/>
        <source>1 problem</source>
        <translation>1 个问题</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="85"/>
        <location filename="../status_bar.py" line="95"/>
        <source>{n} problems</source>
        <translation>{n} 个问题</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="90"/>
        <source>{files} files · {chunks} passages indexed</source>
        <translation>{files} 个文件 · 已索引 {chunks} 段</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="105"/>
        <source>Starting the engine…</source>
        <translation>正在启动引擎…</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="108"/>
        <source>Current activity</source>
        <translation>当前活动</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="111"/>
        <source>Library</source>
        <translation>资料库</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="115"/>
        <source>Indexing progress</source>
        <translation>索引进度</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="179"/>
        <source>Model server: {state}</source>
        <translation>模型服务器：{state}</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="186"/>
        <source>Answers come from the local model {model}</source>
        <translation>回答来自本地模型 {model}</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="188"/>
        <source>Model: {model}</source>
        <translation>模型：{model}</translation>
    </message>
    <message>
        <location filename="../steps_panel.py" line="57"/>
        <source>When you ask a question, each step the agent takes shows here: the parsed question, keywords, hits, passages read, sub-questions and model calls.</source>
        <translation>提问后，智能体的每一步都会显示在这里：解析后的问题、关键词、命中、读过的段落、子问题和模型调用。</translation>
    </message>
    <message>
        <location filename="../steps_panel.py" line="73"/>
        <source>Steps the agent took</source>
        <translation>智能体的步骤</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="34"/>
        <source>retrieval</source>
        <translation>检索</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="35"/>
        <source>prefilter</source>
        <translation>预筛选</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="36"/>
        <source>search again with the quotes</source>
        <translation>用引文再次搜索</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="37"/>
        <source>context</source>
        <translation>上下文</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="44"/>
        <source>understand the question</source>
        <translation>理解问题</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="45"/>
        <source>keywords</source>
        <translation>关键词</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="46"/>
        <source>read a passage</source>
        <translation>阅读段落</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="47"/>
        <source>write the answer</source>
        <translation>撰写回答</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="48"/>
        <source>plan the next step</source>
        <translation>规划下一步</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="136"/>
        <source>Looking for: {what}</source>
        <translation>查找：{what}</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="138"/>
        <source>Instruction: {what}</source>
        <translation>指示：{what}</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="142"/>
        <source>Method: {method}</source>
        <translation>方法：{method}</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="145"/>
        <source>Understood the question</source>
        <translation>已理解问题</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="150"/>
        <source>English: {words}</source>
        <translation>英文：{words}</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="152"/>
        <source>Chinese: {words}</source>
        <translation>中文：{words}</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="154"/>
        <source>Search: {query}</source>
        <translation>搜索：{query}</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="155"/>
        <source>Keywords</source>
        <translation>关键词</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="155"/>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="173"/>
        <source>{n} hits ({purpose})</source>
        <translation>{n} 个命中（{purpose}）</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="175"/>
        <source>{n} of {total} hits ({purpose})</source>
        <translation>{total} 个命中中的 {n} 个（{purpose}）</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="179"/>
        <source>in {time}</source>
        <translation>用时 {time}</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="185"/>
        <source>… and {n} more</source>
        <translation>… 还有 {n} 个</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="191"/>
        <source>Reading {read} of {total} passages</source>
        <translation>正在阅读 {total} 段中的 {read} 段</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="195"/>
        <source>, prefiltered by a broad keyword search to fit the read budget</source>
        <translation>，先用宽泛的关键词搜索预筛选，以符合阅读预算</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="196"/>
        <source>Scope: {scope}</source>
        <translation>范围：{scope}</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="203"/>
        <source>Reading passages</source>
        <translation>正在阅读段落</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="222"/>
        <source>Reading passages {done}/{total}</source>
        <translation>正在阅读段落 {done}/{total}</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="225"/>
        <source>{n} state the answer</source>
        <translation>{n} 段说出了答案</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="227"/>
        <source>, {n} about its subject</source>
        <translation>，{n} 段与主题有关</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="355"/>
        <source>No answer: the documents do not support one</source>
        <translation>没有回答：文档不支持任何回答</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="357"/>
        <source>No answer: not found in the documents</source>
        <translation>没有回答：文档中没有找到</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="229"/>
        <source>, {n} verdicts from cache</source>
        <translation>，{n} 个判断来自缓存</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="231"/>
        <source>{calls} model calls, {tokens} prompt tokens</source>
        <translation>{calls} 次模型调用，{tokens} 个提示词元</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="237"/>
        <source>… and {n} more quotes</source>
        <translation>… 还有 {n} 条引文</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="294"/>
        <source>Backed by 1 passage</source>
        <translation>有 1 段依据</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="294"/>
        <source>Backed by {n} passages</source>
        <translation>有 {n} 段依据</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="299"/>
        <source>Step {n} answered</source>
        <translation>第 {n} 步已回答</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="315"/>
        <source>Model call: {purpose}</source>
        <translation>模型调用：{purpose}</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="316"/>
        <source>{prompt} prompt → {answer} answer tokens, {time}</source>
        <translation>提示 {prompt} → 回答 {answer} 个词元，{time}</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="326"/>
        <source>Level {level} · {calls} model calls · {prompt} prompt + {answer} answer tokens · {time}</source>
        <translation>第 {level} 级 · {calls} 次模型调用 · 提示 {prompt} + 回答 {answer} 个词元 · {time}</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="339"/>
        <source>Time: {phases}</source>
        <translation>用时：{phases}</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="348"/>
        <source>Passages read one by one: {n}</source>
        <translation>逐段阅读的段落：{n}</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="353"/>
        <source>Answer ready</source>
        <translation>回答已就绪</translation>
    </message>
    <message>
        <location filename="../steps_timeline.py" line="366"/>
        <source>Stopped by you</source>
        <translation>你停止了</translation>
    </message>
    <message>
        <location filename="../theme.py" line="38"/>
        <source>Light</source>
        <translation>浅色</translation>
    </message>
    <message>
        <location filename="../theme.py" line="39"/>
        <source>Dark</source>
        <translation>深色</translation>
    </message>
    <message>
        <location filename="../tray.py" line="28"/>
        <source>Show Needle</source>
        <translation>显示 Needle</translation>
    </message>
    <message>
        <location filename="../tray.py" line="32"/>
        <source>Quit Needle</source>
        <translation>退出 Needle</translation>
    </message>
    <message>
        <location filename="../tray.py" line="40"/>
        <source>Watching your folders</source>
        <translation>正在监视你的文件夹</translation>
    </message>
    <message>
        <location filename="../errors.py" line="1"/>
        <source>The model server is not running</source>
        <translation>模型服务器未运行</translation>
    </message>
    <message>
        <location filename="../errors.py" line="1"/>
        <source>The model server refused the API key</source>
        <translation>模型服务器拒绝了 API 密钥</translation>
    </message>
    <message>
        <location filename="../errors.py" line="1"/>
        <source>The connection to the model server was lost</source>
        <translation>与模型服务器的连接已断开</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="1"/>
        <source>Answers come from a model server; none is answering at {host}.</source>
        <translation>回答来自模型服务器；{host} 上没有服务器响应。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="1"/>
        <source>The server at {host} does not serve {model}.</source>
        <translation>{host} 上的服务器不提供 {model}。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="1"/>
        <source>Needle could not use the model server at {host}.</source>
        <translation>Needle 无法使用 {host} 上的模型服务器。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="1"/>
        <source>Then click &lt;b&gt;Check again&lt;/b&gt;. Search works without it.</source>
        <translation>然后点击&lt;b&gt;再次检查&lt;/b&gt;。没有它也可以搜索。</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="1"/>
        <source>Start the model server to get answers</source>
        <translation>启动模型服务器以获得回答</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="1"/>
        <source>The model server is not responding properly</source>
        <translation>模型服务器没有正常响应</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="1"/>
        <source>Checking the model server…</source>
        <translation>正在检查模型服务器…</translation>
    </message>
    <message>
        <location filename="../onboarding.py" line="1"/>
        <source>The server does not serve {model}</source>
        <translation>服务器不提供 {model}</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="1"/>
        <source>kept in the keyring; type to replace</source>
        <translation>已保存在密钥环中；输入以替换</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="1"/>
        <source>Model server: checking…</source>
        <translation>模型服务器：正在检查…</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="1"/>
        <source>Model server connected</source>
        <translation>模型服务器已连接</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="1"/>
        <source>Model server not running</source>
        <translation>模型服务器未运行</translation>
    </message>
    <message>
        <location filename="../status_bar.py" line="1"/>
        <source>Model server: error</source>
        <translation>模型服务器：出错</translation>
    </message>
    <message>
        <source>The previous question of this thread</source>
        <translation>本对话的上一个问题</translation>
    </message>
    <message>
        <source>Previous question</source>
        <translation>上一个问题</translation>
    </message>
    <message>
        <source>The next question of this thread</source>
        <translation>本对话的下一个问题</translation>
    </message>
    <message>
        <source>Next question</source>
        <translation>下一个问题</translation>
    </message>
    <message>
        <source>Copy as Markdown</source>
        <translation>复制为 Markdown</translation>
    </message>
    <message>
        <source>Copy the answer with its numbered sources, to paste into a note</source>
        <translation>复制答案及其编号来源，便于粘贴到笔记中</translation>
    </message>
    <message>
        <source>From your history · asked {when}</source>
        <translation>来自历史记录 · 提问于 {when}</translation>
    </message>
    <message>
        <source>a source changed since: the answer may be out of date</source>
        <translation>此后有来源发生了变化：答案可能已过时</translation>
    </message>
    <message>
        <source>Question {n} of {count} in this thread</source>
        <translation>本对话第 {n} 个问题，共 {count} 个</translation>
    </message>
    <message>
        <source>Understood as: {question}</source>
        <translation>理解为：{question}</translation>
    </message>
    <message>
        <source>That conversation is not in the history</source>
        <translation>历史记录中没有这个对话</translation>
    </message>
    <message>
        <source>Unknown export format</source>
        <translation>未知的导出格式</translation>
    </message>
    <message>
        <source>The question history is damaged</source>
        <translation>提问历史记录已损坏</translation>
    </message>
    <message>
        <source>The question history was made by a newer Needle</source>
        <translation>提问历史记录由更新版本的 Needle 创建</translation>
    </message>
    <message>
        <source>1 question</source>
        <translation>1 个问题</translation>
    </message>
    <message>
        <source>HISTORY</source>
        <translation>历史</translation>
    </message>
    <message>
        <source>New thread</source>
        <translation>新对话</translation>
    </message>
    <message>
        <source>Ask the next question on its own, not as a follow-up</source>
        <translation>下一个问题单独提问，而不是作为追问</translation>
    </message>
    <message>
        <source>Search questions and answers</source>
        <translation>搜索问题和答案</translation>
    </message>
    <message>
        <source>Search the history</source>
        <translation>搜索历史记录</translation>
    </message>
    <message>
        <source>Earlier questions</source>
        <translation>以前的问题</translation>
    </message>
    <message>
        <source>Rename…</source>
        <translation>重命名…</translation>
    </message>
    <message>
        <source>Export…</source>
        <translation>导出…</translation>
    </message>
    <message>
        <source>Delete…</source>
        <translation>删除…</translation>
    </message>
    <message>
        <source>{n} questions</source>
        <translation>{n} 个问题</translation>
    </message>
    <message>
        <source>⚠ a source changed</source>
        <translation>⚠ 一个来源已变化</translation>
    </message>
    <message>
        <source>No earlier question matches.</source>
        <translation>没有匹配的历史问题。</translation>
    </message>
    <message>
        <source>Questions you ask are kept here.</source>
        <translation>你提过的问题会保存在这里。</translation>
    </message>
    <message>
        <source>⚠ {n} sources changed</source>
        <translation>⚠ {n} 个来源已变化</translation>
    </message>
    <message>
        <source>Export thread…</source>
        <translation>导出对话…</translation>
    </message>
    <message>
        <source>Copy answer as Markdown</source>
        <translation>将答案复制为 Markdown</translation>
    </message>
    <message>
        <source>Markdown note (*.md)</source>
        <translation>Markdown 笔记 (*.md)</translation>
    </message>
    <message>
        <source>JSON (*.json)</source>
        <translation>JSON (*.json)</translation>
    </message>
    <message>
        <source>Export thread</source>
        <translation>导出对话</translation>
    </message>
    <message>
        <source>Rename thread</source>
        <translation>重命名对话</translation>
    </message>
    <message>
        <source>Name:</source>
        <translation>名称：</translation>
    </message>
    <message>
        <source>Delete thread</source>
        <translation>删除对话</translation>
    </message>
    <message>
        <source>There is no finished answer to copy yet.</source>
        <translation>还没有可复制的完整答案。</translation>
    </message>
    <message>
        <source>Copied the answer as Markdown.</source>
        <translation>已将答案复制为 Markdown。</translation>
    </message>
    <message>
        <source>Ask a question or open a thread to export it.</source>
        <translation>请先提问或打开一个对话，再导出。</translation>
    </message>
    <message>
        <source>Delete “{title}” and its answers from the history? This cannot be undone.</source>
        <translation>要从历史记录中删除“{title}”及其答案吗？此操作无法撤销。</translation>
    </message>
    <message>
        <source>Exported to {path}</source>
        <translation>已导出到 {path}</translation>
    </message>
    <message>
        <source>⚠ Source changed since this answer: it may no longer say this.</source>
        <translation>⚠ 此答案之后来源已变化：可能不再是这样写的。</translation>
    </message>
    <message>
        <source>⚠ File gone since this answer.</source>
        <translation>⚠ 此答案之后文件已不存在。</translation>
    </message>
    <message>
        <source>Follow-up kept as typed</source>
        <translation>追问按原样使用</translation>
    </message>
    <message>
        <source>Follow-up understood as: {question}</source>
        <translation>追问理解为：{question}</translation>
    </message>
    <message>
        <source>From the earlier question</source>
        <translation>根据上一个问题</translation>
    </message>
    <message>
        <source>From {n} earlier questions</source>
        <translation>根据之前的 {n} 个问题</translation>
    </message>
    <message>
        <source>Asked: {what}</source>
        <translation>提问：{what}</translation>
    </message>
</context>
</TS>
