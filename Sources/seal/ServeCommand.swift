import ArgumentParser
import Foundation
import SealGenerate
import SealHTTP
import SealModel
import SealTokenizer
import SealTrain

/// `seal serve`: an OpenAI-compatible server for a local model, so a cluster can run its own judge (or any chat
/// client, the official `openai` Python client included) without Python. Connections are served concurrently
/// (Hummingbird on SwiftNIO); generation runs on one worker thread, requests queue for it in arrival order, and
/// the samples of one request (`n`) decode together.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over an OpenAI-compatible HTTP API (POST /v1/chat/completions, /v1/completions; GET /v1/models, /health).",
        discussion: """
        Chat messages are rendered in the model's chat format (Qwen2.5 or Llama-3, from the tokenizer; a missing \
        system message gets the template's default). A model without a chat format gets the messages' contents \
        joined by blank lines. Supported fields: model (absent or the served name; another is 404 model_not_found), \
        messages / prompt, max_tokens (or max_completion_tokens; an integer in 1...the model's context; default \
        --max-tokens), temperature (0...2, default 1; 0 = greedy), top_p ((0, 1]), n (1...64), stop (a string or \
        a list), seed (an integer ≥ 0), stream (server-sent events, token by token, ending in data: [DONE]) and \
        stream_options.include_usage. A bad field is a 400 naming it. \
        Each connection has --request-timeout seconds from opening (or from its previous reply) to send a whole \
        request, however slowly its bytes come; heads are limited to 64 KiB, bodies to 16 MiB (413). \
        Prints "listening on http://HOST:PORT" once ready (--port 0 picks a free port).
        """)
    @Option(help: "Model directory or .gguf file.") var model: String
    @Option(help: "TCP port (0: any free port, printed when listening).") var port: Int
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "PEFT adapter applied on top of the model.") var adapter: String?
    @Option(help: "Name reported by /v1/models and in replies (default: the directory's name).") var name: String?
    @Option(help: "Default max_tokens of a request.") var maxTokens = 256
    @Option(help: "Sequences decoded together.") var batchSize = 16
    @Option(help: "Seconds a connection has to send a whole request (head and body), counted from when it opens or its previous reply ends.")
    var requestTimeout = 20.0
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        try runtime.apply()
        try reportingErrors {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
            guard requestTimeout.isFinite, requestTimeout > 0, requestTimeout <= 86_400 else { throw ValidationError("--request-timeout must be in (0, 86400] seconds") }
            guard batchSize >= 1 else { throw ValidationError("--batch-size must be ≥ 1") }
            let dir = URL(fileURLWithPath: model)
            let m = try TransformerModel.load(directory: dir)
            guard (1...m.config.maxPositionEmbeddings).contains(maxTokens) else {
                throw ValidationError("--max-tokens must be in 1...\(m.config.maxPositionEmbeddings) (the model's context)")
            }
            let tok = try Tokenizer(model: dir)
            let gen = Generator(model: m, tokenizer: tok, maxBatch: batchSize)
            if let adapter { gen.lora = try PEFTAdapter.load(from: URL(fileURLWithPath: adapter), for: m) }
            let format = ChatFormat.detect(tok)
            if let f = format, let eot = tok.tokenID(f.endOfTurn) { gen.eosTokenIDs.insert(eot) }
            let service = ChatService(generator: gen, format: format, modelName: name ?? dir.lastPathComponent, defaultMaxTokens: maxTokens)
            var limits = ServerLimits()
            limits.requestDeadline = requestTimeout
            let server = HTTPServer(host: host, port: port, limits: limits)
            let host = self.host, modelName = service.modelName
            try server.run(handler: { await service.handle($0) }, onListening: { port in
                print("seal serve: \(modelName) listening on http://\(host):\(port)")
                fflush(nil)
            })
        }
    }
}

/// What one completion request asks for, checked.
struct CompletionJob: Sendable {
    var chat: Bool
    var prompts: [String]
    var params: SamplingParams
    var n: Int
    var stream: Bool
    var includeUsage: Bool
    var id: String
}

/// The OpenAI-compatible endpoints over one generator. The generator is touched only on `worker`'s thread.
final class ChatService: @unchecked Sendable {
    let generator: Generator
    let format: ChatFormat?
    let modelName: String
    let defaultMaxTokens: Int
    let worker = SerialWorker(name: "seal-generate")
    private let lock = NSLock()
    private var counter = 0

    init(generator: Generator, format: ChatFormat?, modelName: String, defaultMaxTokens: Int) {
        self.generator = generator; self.format = format; self.modelName = modelName; self.defaultMaxTokens = defaultMaxTokens
    }

    func nextID() -> Int {
        lock.lock(); defer { lock.unlock() }
        counter += 1
        return counter
    }

    static func error(_ status: Int, _ message: String) -> HTTPResponse {
        .json(status, ["error": ["message": message, "type": status == 404 ? "not_found_error" : "invalid_request_error"]])
    }

    func handle(_ r: HTTPRequest) async -> ServerReply {
        switch (r.method, r.path) {
        case ("GET", "/health"): return .response(.json(200, ["status": "ok"]))
        case ("GET", "/v1/models"):
            return .response(.json(200, ["object": "list", "data": [["id": modelName, "object": "model", "created": 0, "owned_by": "seal"]]]))
        case ("POST", "/v1/chat/completions"), ("POST", "/v1/completions"):
            let job: CompletionJob
            do {
                job = try parse(r.body, chat: r.path.hasSuffix("chat/completions"))
            } catch let e as ServeRequestError {
                return .response(e.reply)
            } catch {
                return .response(Self.error(400, "\(error)"))
            }
            return job.stream ? await stream(job) : await complete(job)
        case (_, "/health"), (_, "/v1/models"), (_, "/v1/chat/completions"), (_, "/v1/completions"):
            return .response(Self.error(405, "\(r.method) is not allowed on \(r.path)"))
        default:
            return .response(Self.error(404, "no endpoint \(r.path) (POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health)"))
        }
    }

    // MARK: Parsing

    static func bad(_ field: String?, _ message: String) -> ServeRequestError { .invalid(field: field, message: message) }

    /// The request body, decoded and checked by `CompletionRequest`, as a job for the generator.
    func parse(_ data: Data, chat: Bool) throws -> CompletionJob {
        let limits = CompletionRequest.Limits(modelName: modelName, context: generator.model.config.maxPositionEmbeddings,
                                              defaultMaxTokens: defaultMaxTokens)
        let r = try CompletionRequest(json: data, chat: chat, limits: limits)
        let prompts = chat ? [render(r.messages.map { ($0.role, $0.content) })] : r.prompts
        let id = nextID()
        let p = SamplingParams(temperature: r.temperature, topP: r.topP, topK: 0, maxNewTokens: r.maxTokens,
                               stop: r.stop, seed: r.seed ?? UInt64(id))
        do { try p.validate() } catch { throw Self.bad(nil, "\(error)") }
        return CompletionJob(chat: chat, prompts: prompts, params: p, n: r.n, stream: r.stream, includeUsage: r.includeUsage,
                             id: (chat ? "chatcmpl-" : "cmpl-") + String(id))
    }

    /// The conversation as the model's chat template renders it, ending where the assistant answers.
    func render(_ messages: [(role: String, content: String)]) -> String {
        guard let format else { return messages.map(\.content).joined(separator: "\n\n") }
        if messages.count == 1, messages[0].role == "user" { return format.prompt(user: messages[0].content) }
        if messages.count == 2, messages[0].role == "system", messages[1].role == "user" {
            return format.prompt(user: messages[1].content, system: messages[0].content)
        }
        switch format {
        case .qwen2, .chatML:
            var s = ""
            let defaultSystem: String?
            if case .chatML(let d) = format { defaultSystem = d } else { defaultSystem = ChatFormat.qwenSystem }
            if messages.first?.role != "system", let d = defaultSystem { s += "<|im_start|>system\n\(d)<|im_end|>\n" }
            for m in messages { s += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            return s + "<|im_start|>assistant\n"
        case .llama3:
            var s = "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
            var rest = messages[...]
            if let first = rest.first, first.role == "system" { s += first.content; rest = rest.dropFirst() }
            s += "<|eot_id|>"
            for m in rest { s += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n\(m.content)<|eot_id|>" }
            return s + "<|start_header_id|>assistant<|end_header_id|>\n\n"
        }
    }


    // MARK: Generation (on the worker)

    /// The requests of a job, tokenized; the number of prompt tokens.
    func requests(_ job: CompletionJob) throws -> ([GenerationRequest], Int) {
        var total = 0
        let rs = try job.prompts.map { text -> GenerationRequest in
            let tok = generator.tokenizer
            let chatFormat = job.chat ? format : nil
            let plain: [Int] = chatFormat?.encode(text, with: tok) ?? tok.encode(text)
            let ids = plain.map { Int32($0) }
            if ids.isEmpty { throw Self.bad(job.chat ? "messages" : "prompt", "the prompt is empty") }
            total += ids.count
            return GenerationRequest(prompt: ids, samples: job.n)
        }
        return (rs, total)
    }

    static func finish(_ c: Completion) -> String { c.finishReason == .length ? "length" : "stop" }

    func choiceIndex(_ job: CompletionJob, prompt: Int, sample: Int) -> Int { prompt * job.n + sample }

    static func usage(prompt: Int, completion: Int) -> [String: Any] {
        ["prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion]
    }

    static var now: Int { Int(Date().timeIntervalSince1970.rounded(.down)) }

    func complete(_ job: CompletionJob) async -> ServerReply {
        let result: ([Completion], Int)
        do {
            result = try await worker.run { [self] in
                let (rs, promptTokens) = try requests(job)
                do { return (try generator.generate(rs, params: job.params), promptTokens) } catch let e as GenerationError {
                    throw Self.bad(nil, "\(e)")
                }
            }
        } catch let e as ServeRequestError {
            return .response(e.reply)
        } catch {
            return .response(Self.error(500, "\(error)"))
        }
        let (out, promptTokens) = result
        let choices: [[String: Any]] = out.map { c in
            let i = choiceIndex(job, prompt: c.promptIndex, sample: c.sampleIndex)
            return job.chat
                ? ["index": i, "message": ["role": "assistant", "content": c.text], "finish_reason": Self.finish(c), "logprobs": NSNull()]
                : ["index": i, "text": c.text, "finish_reason": Self.finish(c), "logprobs": NSNull()]
        }
        let used = out.reduce(0) { $0 + $1.tokenIDs.count }
        return .response(.json(200, ["id": job.id, "object": job.chat ? "chat.completion" : "text_completion", "created": Self.now,
                                     "model": modelName, "choices": choices, "usage": Self.usage(prompt: promptTokens, completion: used)]))
    }

    /// The part of a sample's text that can be sent now: cut before a stop string, holding back an end that may be
    /// the start of one, and an incomplete UTF-8 character (decoded as U+FFFD) that the next token may complete.
    static func settledText(_ t: String, stops: [String]) -> String {
        var s = t
        if let cut = stops.compactMap({ s.range(of: $0)?.lowerBound }).min() {
            s = String(s[..<cut])
        } else {
            var hold = 0
            for stop in stops {
                var k = min(stop.count - 1, s.count)
                while k > hold {
                    if s.hasSuffix(stop.prefix(k)) { hold = k; break }
                    k -= 1
                }
            }
            s.removeLast(hold)
        }
        while s.hasSuffix("\u{FFFD}") { s.removeLast() }
        return s
    }

    func chunk(_ job: CompletionJob, index: Int, text: String?, role: Bool = false, finish: String? = nil) -> Data {
        var choice: [String: Any] = ["index": index, "finish_reason": finish.map { $0 as Any } ?? NSNull(), "logprobs": NSNull()]
        if job.chat {
            var delta: [String: Any] = [:]
            if role { delta["role"] = "assistant" }
            if let text { delta["content"] = text }
            choice["delta"] = delta
        } else {
            choice["text"] = text ?? ""
        }
        return event(["id": job.id, "object": job.chat ? "chat.completion.chunk" : "text_completion", "created": Self.now,
                      "model": modelName, "choices": [choice]])
    }

    func event(_ o: [String: Any]) -> Data {
        let d = (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Data("data: ".utf8) + d + Data("\n\n".utf8)
    }

    /// Streams a job as server-sent events: the text of each sample as its tokens are produced. A request the
    /// generator refuses before its first token still gets a plain 400.
    func stream(_ job: CompletionJob) async -> ServerReply {
        let (bytes, out) = AsyncStream<Data>.makeStream(bufferingPolicy: .unbounded)
        // The client went away (the server stopped reading the stream): stop decoding for it at the next step.
        let gone = CancelFlag()
        out.onTermination = { reason in if case .cancelled = reason { gone.set() } }
        let refusal: HTTPResponse? = await withCheckedContinuation { (started: CheckedContinuation<HTTPResponse?, Never>) in
            worker.enqueue { [self] in
                var didStart = false
                func start(_ r: HTTPResponse?) {
                    if !didStart { didStart = true; started.resume(returning: r) }
                }
                var sent: [Int: [UInt8]] = [:]
                let eos = generator.eosTokenIDs
                do {
                    let (rs, promptTokens) = try requests(job)
                    let done: [Completion]
                    do {
                        done = try generator.generate(rs, params: job.params) { p, s, tokens in
                            if !didStart {
                                start(nil)
                                if job.chat { for i in 0..<(job.prompts.count * job.n) { out.yield(self.chunk(job, index: i, text: "", role: true)) } }
                            }
                            let i = self.choiceIndex(job, prompt: p, sample: s)
                            let body = tokens.last.map(eos.contains) == true ? Array(tokens.dropLast()) : tokens
                            let settled = Array(Self.settledText(self.generator.tokenizer.decode(body), stops: job.params.stop).utf8)
                            let already = sent[i] ?? []
                            if settled.count > already.count, settled.starts(with: already) {
                                out.yield(self.chunk(job, index: i, text: String(decoding: settled[already.count...], as: UTF8.self)))
                                sent[i] = settled
                            }
                        } isCancelled: { gone.isSet }
                    } catch GenerationError.cancelled {
                        start(nil)
                        out.finish()
                        return
                    } catch let e as GenerationError { throw Self.bad(nil, "\(e)") }
                    start(nil)
                    for c in done {
                        let i = choiceIndex(job, prompt: c.promptIndex, sample: c.sampleIndex)
                        let final = Array(c.text.utf8), already = sent[i] ?? []
                        if final.count > already.count, final.starts(with: already) {
                            out.yield(chunk(job, index: i, text: String(decoding: final[already.count...], as: UTF8.self)))
                        }
                        out.yield(chunk(job, index: i, text: job.chat ? nil : "", finish: Self.finish(c)))
                    }
                    if job.includeUsage {
                        let used = done.reduce(0) { $0 + $1.tokenIDs.count }
                        out.yield(event(["id": job.id, "object": job.chat ? "chat.completion.chunk" : "text_completion", "created": Self.now,
                                         "model": modelName, "choices": [Any](), "usage": Self.usage(prompt: promptTokens, completion: used)]))
                    }
                } catch {
                    let reply = (error as? ServeRequestError)?.reply ?? Self.error(500, "\(error)")
                    if !didStart { start(reply) } else {
                        out.yield(event(["error": ["message": "\(error)", "type": "server_error"]]))
                    }
                }
                out.yield(Data("data: [DONE]\n\n".utf8))
                out.finish()
            }
        }
        if let refusal { return .response(refusal) }
        return .events(bytes)
    }
}

/// A flag one thread sets and another polls.
final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
