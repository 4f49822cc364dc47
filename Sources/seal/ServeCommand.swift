import ArgumentParser
import Foundation
import SealGenerate
import SealHTTP
import SealModel
import SealTokenizer
import SealTrain

/// `seal serve`: a minimal OpenAI-compatible server for a local model, so a cluster can run its own judge (or
/// any chat client) without Python. Requests are answered one at a time; the samples of one request (`n`) decode
/// together.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over an OpenAI-compatible HTTP API (POST /v1/chat/completions, /v1/completions; GET /v1/models, /health).",
        discussion: """
        Chat messages are rendered in the model's chat format (Qwen2.5 or Llama-3, from the tokenizer; a missing \
        system message gets the template's default). A model without a chat format gets the messages' contents \
        joined by blank lines. Supported fields: messages / prompt, max_tokens (or max_completion_tokens; default \
        --max-tokens), temperature (default 1; 0 = greedy), top_p, n, stop (a string or a list), seed. stream is \
        not supported. Prints "listening on http://HOST:PORT" once ready (--port 0 picks a free port).
        """)
    @Option(help: "Model directory.") var model: String
    @Option(help: "TCP port (0: any free port, printed when listening).") var port: Int
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "PEFT adapter applied on top of the model.") var adapter: String?
    @Option(help: "Name reported by /v1/models and in replies (default: the directory's name).") var name: String?
    @Option(help: "Default max_tokens of a request.") var maxTokens = 256
    @Option(help: "Sequences decoded together.") var batchSize = 16
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        try runtime.apply()
        try reportingErrors {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
            let dir = URL(fileURLWithPath: model)
            let m = try TransformerModel.load(directory: dir)
            let tok = try Tokenizer(directory: dir)
            let gen = Generator(model: m, tokenizer: tok, maxBatch: batchSize)
            if let adapter { gen.lora = try PEFTAdapter.load(from: URL(fileURLWithPath: adapter), for: m) }
            let format = ChatFormat.detect(tok)
            if let f = format, let eot = tok.tokenID(f.endOfTurn) { gen.eosTokenIDs.insert(eot) }
            let server = try HTTPServer(host: host, port: port)
            let service = ChatService(generator: gen, format: format, modelName: name ?? dir.lastPathComponent, defaultMaxTokens: maxTokens)
            print("seal serve: \(service.modelName) listening on http://\(host):\(server.port)")
            fflush(nil)
            server.serve(handler: service.handle)
        }
    }
}

/// The OpenAI-compatible endpoints over one generator.
final class ChatService {
    let generator: Generator
    let format: ChatFormat?
    let modelName: String
    let defaultMaxTokens: Int
    var counter = 0

    init(generator: Generator, format: ChatFormat?, modelName: String, defaultMaxTokens: Int) {
        self.generator = generator; self.format = format; self.modelName = modelName; self.defaultMaxTokens = defaultMaxTokens
    }

    struct BadRequest: Error { var message: String }

    static func error(_ status: Int, _ message: String) -> HTTPResponse {
        .json(status, ["error": ["message": message, "type": status == 404 ? "not_found_error" : "invalid_request_error"]])
    }

    func handle(_ r: HTTPRequest) -> HTTPResponse {
        switch (r.method, r.path) {
        case ("GET", "/health"): return .json(200, ["status": "ok"])
        case ("GET", "/v1/models"):
            return .json(200, ["object": "list", "data": [["id": modelName, "object": "model", "owned_by": "seal"]]])
        case ("POST", "/v1/chat/completions"), ("POST", "/v1/completions"):
            do {
                guard let body = (try? JSONSerialization.jsonObject(with: r.body)) as? [String: Any] else { throw BadRequest(message: "the body must be a JSON object") }
                return try r.path.hasSuffix("chat/completions") ? chat(body) : completion(body)
            } catch let e as BadRequest {
                return Self.error(400, e.message)
            } catch {
                return Self.error(400, "\(error)")
            }
        case (_, "/health"), (_, "/v1/models"), (_, "/v1/chat/completions"), (_, "/v1/completions"):
            return Self.error(405, "\(r.method) is not allowed on \(r.path)")
        default:
            return Self.error(404, "no endpoint \(r.path) (POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health)")
        }
    }

    /// Message content: a string, or a list of parts whose text parts are concatenated.
    static func content(_ any: Any?, at i: Int) throws -> String {
        if let s = any as? String { return s }
        if let parts = any as? [Any] {
            return try parts.map { p -> String in
                guard let d = p as? [String: Any], d["type"] as? String == "text", let t = d["text"] as? String else {
                    throw BadRequest(message: "messages[\(i)].content: only text parts are supported")
                }
                return t
            }.joined()
        }
        throw BadRequest(message: "messages[\(i)].content must be a string or a list of text parts")
    }

    /// The conversation as the model's chat template renders it, ending where the assistant answers.
    func render(_ messages: [(role: String, content: String)]) -> String {
        guard let format else { return messages.map(\.content).joined(separator: "\n\n") }
        if messages.count == 1, messages[0].role == "user" { return format.prompt(user: messages[0].content) }
        if messages.count == 2, messages[0].role == "system", messages[1].role == "user" {
            return format.prompt(user: messages[1].content, system: messages[0].content)
        }
        switch format {
        case .qwen2:
            var s = ""
            if messages.first?.role != "system" { s += "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" }
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

    func params(_ body: [String: Any]) throws -> (SamplingParams, Int) {
        if body["stream"] as? Bool == true { throw BadRequest(message: "stream is not supported by seal serve") }
        func number(_ key: String) throws -> Double? {
            guard let v = body[key], !(v is NSNull) else { return nil }
            guard let n = v as? NSNumber else { throw BadRequest(message: "\(key) must be a number") }
            return n.doubleValue
        }
        let maxTokens = Int(try number("max_completion_tokens") ?? number("max_tokens") ?? Double(defaultMaxTokens))
        guard maxTokens >= 1 else { throw BadRequest(message: "max_tokens must be ≥ 1") }
        let n = Int(try number("n") ?? 1)
        guard (1...64).contains(n) else { throw BadRequest(message: "n must be in 1...64") }
        var stop: [String] = []
        if let s = body["stop"] as? String { stop = [s] } else if let s = body["stop"] as? [Any] {
            guard s.allSatisfy({ $0 is String }) else { throw BadRequest(message: "stop must be a string or a list of strings") }
            stop = s.map { $0 as! String }
        } else if let s = body["stop"], !(s is NSNull) { throw BadRequest(message: "stop must be a string or a list of strings") }
        counter += 1
        let seed = try number("seed").map { UInt64(max(0, $0)) } ?? UInt64(counter)
        let p = SamplingParams(temperature: try number("temperature") ?? 1, topP: try number("top_p") ?? 1, topK: 0,
                               maxNewTokens: maxTokens, stop: stop.filter { !$0.isEmpty }, seed: seed)
        do { try p.validate() } catch { throw BadRequest(message: "\(error)") }
        return (p, n)
    }

    func run(_ prompts: [String], _ p: SamplingParams, _ n: Int) throws -> (completions: [Completion], promptTokens: Int) {
        var total = 0
        let requests = try prompts.map { text -> GenerationRequest in
            let ids = generator.tokenizer.encode(text).map(Int32.init)
            if ids.isEmpty { throw BadRequest(message: "the prompt is empty") }
            total += ids.count
            return GenerationRequest(prompt: ids, samples: n)
        }
        do { return (try generator.generate(requests, params: p), total) } catch let e as GenerationError { throw BadRequest(message: "\(e)") }
    }

    static func finish(_ c: Completion) -> String { c.finishReason == .length ? "length" : "stop" }

    func chat(_ body: [String: Any]) throws -> HTTPResponse {
        guard let list = body["messages"] as? [Any], !list.isEmpty else { throw BadRequest(message: "messages must be a non-empty list") }
        let messages = try list.enumerated().map { i, any -> (role: String, content: String) in
            guard let d = any as? [String: Any], let role = d["role"] as? String, ["system", "user", "assistant"].contains(role) else {
                throw BadRequest(message: "messages[\(i)] needs a role of system, user or assistant")
            }
            return (role, try Self.content(d["content"], at: i))
        }
        let (p, n) = try params(body)
        let (out, promptTokens) = try run([render(messages)], p, n)
        let choices: [[String: Any]] = out.map { c in
            ["index": c.sampleIndex, "message": ["role": "assistant", "content": c.text], "finish_reason": Self.finish(c)]
        }
        let used = out.reduce(0) { $0 + $1.tokenIDs.count }
        return .json(200, ["id": "chatcmpl-\(counter)", "object": "chat.completion", "created": Int(Date().timeIntervalSince1970),
                           "model": modelName, "choices": choices,
                           "usage": ["prompt_tokens": promptTokens, "completion_tokens": used, "total_tokens": promptTokens + used]])
    }

    func completion(_ body: [String: Any]) throws -> HTTPResponse {
        var prompts: [String]
        if let s = body["prompt"] as? String { prompts = [s] } else if let a = body["prompt"] as? [Any], !a.isEmpty, a.allSatisfy({ $0 is String }) {
            prompts = a.map { $0 as! String }
        } else {
            throw BadRequest(message: "prompt must be a string or a non-empty list of strings")
        }
        let (p, n) = try params(body)
        let (out, promptTokens) = try run(prompts, p, n)
        let choices: [[String: Any]] = out.map { c in
            ["index": c.promptIndex * n + c.sampleIndex, "text": c.text, "finish_reason": Self.finish(c)]
        }
        let used = out.reduce(0) { $0 + $1.tokenIDs.count }
        return .json(200, ["id": "cmpl-\(counter)", "object": "text_completion", "created": Int(Date().timeIntervalSince1970),
                           "model": modelName, "choices": choices,
                           "usage": ["prompt_tokens": promptTokens, "completion_tokens": used, "total_tokens": promptTokens + used]])
    }
}
