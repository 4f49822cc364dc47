import Foundation
import SealGenerate
import SealHTTP
import SealModel
import SealTokenizer

/// The paper's grading question (SEAL, appendix B.4: GPT-4.1 asked whether the student answer fully conveys the
/// gold answer without contradicting it, yes or no), and how its reply is read.
public enum JudgePrompt {
    public static func text(question: String, gold: String, prediction: String) -> String {
        "You are a grading assistant. Your job is to determine whether a student's answer correctly answers the question based solely on the provided gold answer. "
            + "Do not use any outside knowledge. The student answer can include additional information, but it must at least fully convey the gold answer and must not contradict it. "
            + "Ignore style, phrasing, or extra details that do not affect correctness. Respond ONLY with 'yes' or 'no'.\n\n"
            + "Question: \(question)\nGold answer: \(gold)\nStudent answer: \(prediction.trimmingCharacters(in: .whitespacesAndNewlines))\n"
            + "Is the student answer correct based solely on the gold answer? Respond 'yes' or 'no'."
    }

    static let yes = try! NSRegularExpression(pattern: #"\byes\b"#, options: [.caseInsensitive])
    static let no = try! NSRegularExpression(pattern: #"\bno\b"#, options: [.caseInsensitive])

    /// true for a reply with the word "yes" and not "no", false for "no" and not "yes", nil for anything else
    /// (neither, or both): unparseable. The reference reads every unparseable reply as no; so does seal, but it
    /// also says so.
    public static func parse(_ reply: String) -> Bool? {
        let r = NSRange(location: 0, length: (reply as NSString).length)
        let y = yes.firstMatch(in: reply, range: r) != nil, n = no.firstMatch(in: reply, range: r) != nil
        if y && !n { return true }
        if n && !y { return false }
        return nil
    }

    /// Asks about every gold answer of every item (one question per gold: the paper's prompt has one), and turns
    /// the replies into verdicts: correct when any gold got a yes; unparsed when none did and some reply said
    /// neither; `raw` holds the replies, joined by " | " when there are several.
    public static func verdicts(_ items: [GradeItem], ask: ([String]) throws -> [String]) throws -> [GradeVerdict] {
        var prompts: [String] = []
        var owner: [Int] = []
        for (i, item) in items.enumerated() {
            for g in item.golds {
                prompts.append(text(question: item.question, gold: g, prediction: item.prediction))
                owner.append(i)
            }
        }
        let replies = try ask(prompts)
        precondition(replies.count == prompts.count)
        var byItem = [[String]](repeating: [], count: items.count)
        for (k, r) in replies.enumerated() { byItem[owner[k]].append(r) }
        return byItem.map { rs in
            let parsed = rs.map(parse)
            if parsed.contains(true) { return GradeVerdict(correct: true, parsed: true, raw: rs.joined(separator: " | ")) }
            return GradeVerdict(correct: false, parsed: !parsed.contains(where: { $0 == nil }), raw: rs.joined(separator: " | "))
        }
    }
}

/// A judge run by seal itself: a local (instruct) model answers the grading question, greedily.
public final class LLMJudge: AnswerGrading {
    public let generator: Generator
    public let chat: ChatFormat?
    public let maxTokens: Int
    public let modelPath: String
    public var name: String { "llm:\(modelPath)" }

    /// - Parameter chat: "auto" (the tokenizer's chat format when it has one), "on" (required), "off".
    public init(modelDirectory: String, chat: String = "auto", maxTokens: Int = 8, batch: Int = 16) throws {
        guard maxTokens >= 1 else { throw KnowledgeDataError("grader.max_tokens must be ≥ 1") }
        let dir = URL(fileURLWithPath: modelDirectory)
        let model = try TransformerModel.load(directory: dir)
        let tok = try Tokenizer(model: dir)
        let gen = Generator(model: model, tokenizer: tok, maxBatch: batch)
        switch chat {
        case "auto": self.chat = ChatFormat.detect(tok)
        case "on":
            guard let f = ChatFormat.detect(tok) else { throw KnowledgeDataError("grader.chat = on: \(modelDirectory) has no chat format (neither <|im_start|> nor <|start_header_id|>)") }
            self.chat = f
        case "off": self.chat = nil
        default: throw KnowledgeDataError("grader.chat must be auto, on or off, not '\(chat)'")
        }
        if let f = self.chat, let eot = tok.tokenID(f.endOfTurn) { gen.eosTokenIDs.insert(eot) }
        generator = gen
        self.maxTokens = maxTokens
        modelPath = modelDirectory
    }

    /// The text the judge model completes for one grading question.
    public func promptText(_ question: String) -> String { chat.map { $0.prompt(user: question) } ?? question }

    public func ask(_ questions: [String]) throws -> [String] {
        if questions.isEmpty { return [] }
        let tok = generator.tokenizer
        let requests = questions.map { q in
            let ids: [Int] = chat?.encode(promptText(q), with: tok) ?? tok.encode(promptText(q))
            return GenerationRequest(prompt: ids.map { Int32($0) })
        }
        let out = try generator.generate(requests, params: SamplingParams(temperature: 0, maxNewTokens: maxTokens))
        return out.map(\.text)
    }

    public func grade(_ items: [GradeItem]) throws -> [GradeVerdict] { try JudgePrompt.verdicts(items, ask: ask) }
}

/// A judge behind an OpenAI-compatible chat-completions endpoint (vLLM, llama.cpp's server, `seal serve`, or an
/// API such as OpenAI's over https): one POST per question, temperature 0. The client is libcurl: certificates are
/// verified against `caFile`, else SSL_CERT_FILE, else the system's bundle; proxies come from the environment
/// (HTTPS_PROXY / https_proxy, http_proxy, NO_PROXY / no_proxy).
public final class HTTPJudge: AnswerGrading {
    public let url: HTTPURL
    public let urlString: String
    public let model: String
    public let apiKey: String?
    public let maxTokens: Int
    public let timeout: Double
    public let tls: TLSOptions
    /// Attempts per question before the run stops with an error (a server that is down is not a "no").
    public var attempts = 3
    public var name: String { "http:\(urlString)" }

    /// - Parameter url: the server's base URL; `/v1/chat/completions` is appended, or `/chat/completions` when the
    ///   URL already ends in `/v1`.
    /// - Parameter caFile: PEM bundle of the certificate authorities to trust (grader.ca_file); nil or "": SSL_CERT_FILE, else the system's.
    public init(url: String, model: String, apiKey: String? = nil, maxTokens: Int = 8, timeout: Double = 120, caFile: String? = nil) throws {
        do { self.url = try HTTPURL(url) } catch { throw KnowledgeDataError("grader.url: \(error)") }
        guard maxTokens >= 1 else { throw KnowledgeDataError("grader.max_tokens must be ≥ 1") }
        guard timeout > 0, timeout.isFinite else { throw KnowledgeDataError("grader.timeout must be a positive number of seconds") }
        if let caFile, !caFile.isEmpty {
            guard FileManager.default.isReadableFile(atPath: caFile) else { throw KnowledgeDataError("grader.ca_file: cannot read \(caFile)") }
        }
        urlString = url
        self.model = model
        self.apiKey = apiKey.flatMap { $0.isEmpty ? nil : $0 }
        self.maxTokens = maxTokens
        self.timeout = timeout
        self.tls = TLSOptions(caFile: caFile.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// The path requests go to.
    public var endpoint: String { url.path.hasSuffix("/v1") ? url.path + "/chat/completions" : url.path + "/v1/chat/completions" }

    /// One question, one reply (the assistant message's content).
    public func ask(_ question: String) throws -> String {
        let body: [String: Any] = ["model": model, "messages": [["role": "user", "content": question]], "temperature": 0, "max_tokens": maxTokens]
        var headers = ["content-type": "application/json"]
        if let k = apiKey { headers["authorization"] = "Bearer \(k)" }
        let request = HTTPRequest(method: "POST", path: endpoint, headers: headers, body: try JSONSerialization.data(withJSONObject: body))
        var lastError = ""
        attempts: for attempt in 0..<max(1, attempts) {
            if attempt > 0 { Thread.sleep(forTimeInterval: 1.5 * Double(attempt)) }
            do {
                let r = try HTTPClient.send(request, to: url, timeout: timeout, tls: tls)
                guard r.status == 200 else {
                    lastError = "status \(r.status): \(String(decoding: r.body.prefix(300), as: UTF8.self))"
                    if r.status >= 400 && r.status < 500 && r.status != 408 && r.status != 429 { break }
                    continue
                }
                guard let o = (try? JSONSerialization.jsonObject(with: r.body)) as? [String: Any],
                      let choices = o["choices"] as? [Any], let c0 = choices.first as? [String: Any],
                      let message = c0["message"] as? [String: Any] else {
                    throw KnowledgeDataError("\(urlString)\(endpoint): reply is not a chat completion: \(String(decoding: r.body.prefix(300), as: UTF8.self))")
                }
                return message["content"] as? String ?? ""
            } catch let e as HTTPError {
                lastError = e.description
                switch e {
                // Settings, not luck: trying again cannot help.
                case .certificate, .caFile, .badURL: break attempts
                case .timedOut, .replyTooLarge, .transport: continue
                }
            }
        }
        throw KnowledgeDataError("grader http: \(lastError)")
    }

    public func grade(_ items: [GradeItem]) throws -> [GradeVerdict] {
        try JudgePrompt.verdicts(items) { try $0.map(ask) }
    }
}
