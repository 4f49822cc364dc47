import Foundation
import SealCore

/// A request the server refuses: 400 naming the field, or 404 for a model it does not serve.
public enum ServeRequestError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalid(field: String?, message: String)
    case modelNotFound(String, served: String)

    public var description: String {
        switch self {
        case .invalid(_, let m): return m
        case .modelNotFound(let m, let served): return "The model '\(m)' does not exist (this server serves '\(served)')"
        }
    }

    /// The field the error is about (nil when it is about the body as a whole).
    public var field: String? {
        switch self {
        case .invalid(let f, _): return f
        case .modelNotFound: return "model"
        }
    }

    public var reply: HTTPResponse {
        switch self {
        case .invalid(let field, let m):
            return .json(400, ["error": ["message": m, "type": "invalid_request_error", "param": field.map { $0 as Any } ?? NSNull(), "code": NSNull()]])
        case .modelNotFound:
            return .json(404, ["error": ["message": description, "type": "invalid_request_error", "param": "model", "code": "model_not_found"]])
        }
    }
}

/// The body of an OpenAI-compatible completion request (POST /v1/chat/completions or /v1/completions), decoded and
/// checked: a pure function of the bytes and the server's limits, so that it can be tested and fuzzed alone.
/// Every field is checked here — types, ranges, finiteness — so that nothing downstream converts an unchecked number.
public struct CompletionRequest: Sendable, Equatable {
    public struct Message: Sendable, Equatable {
        public var role: String
        public var content: String
        public init(role: String, content: String) { self.role = role; self.content = content }
    }

    /// What the server decodes against: the name it serves, the model's context, the default max_tokens.
    public struct Limits: Sendable {
        public var modelName: String
        public var context: Int
        public var defaultMaxTokens: Int
        public var maxSamples = 64
        public init(modelName: String, context: Int, defaultMaxTokens: Int) {
            self.modelName = modelName; self.context = context; self.defaultMaxTokens = defaultMaxTokens
        }
    }

    public var chat: Bool
    /// Chat: the conversation (non-empty). Completions: empty.
    public var messages: [Message]
    /// Completions: the prompts (non-empty). Chat: empty.
    public var prompts: [String]
    public var maxTokens: Int
    public var n: Int
    /// Stop strings, empty ones dropped.
    public var stop: [String]
    /// nil: the server picks one.
    public var seed: UInt64?
    public var temperature: Double
    public var topP: Double
    public var stream: Bool
    public var includeUsage: Bool

    static func bad(_ field: String?, _ message: String) -> ServeRequestError { .invalid(field: field, message: message) }

    public init(json data: Data, chat: Bool, limits: Limits) throws(ServeRequestError) {
        let root: JSONValue
        do { root = try JSONParser.parse(data, options: .byteOrderMark) } catch {
            throw Self.bad(nil, "the body is not valid JSON: \(error)")
        }
        guard case .object(let body) = root else { throw Self.bad(nil, "the body must be a JSON object") }
        if let m = body["model"] {
            guard case .string(let name) = m else { throw Self.bad("model", "model must be a string, not \(m.kind)") }
            guard name == limits.modelName else { throw ServeRequestError.modelNotFound(name, served: limits.modelName) }
        }
        self.chat = chat
        messages = []
        prompts = []
        if chat {
            guard case .array(let list)? = body["messages"], !list.isEmpty else { throw Self.bad("messages", "messages must be a non-empty list") }
            for (i, any) in list.enumerated() {
                guard case .object(let d) = any, case .string(let role)? = d["role"], ["system", "user", "assistant"].contains(role) else {
                    throw Self.bad("messages", "messages[\(i)] needs a role of system, user or assistant")
                }
                messages.append(Message(role: role, content: try Self.content(d["content"], at: i)))
            }
        } else {
            switch body["prompt"] {
            case .string(let s)?: prompts = [s]
            case .array(let a)? where !a.isEmpty:
                for v in a {
                    guard case .string(let s) = v else { throw Self.bad("prompt", "prompt must be a string or a non-empty list of strings (token-id prompts are not supported)") }
                    prompts.append(s)
                }
            default: throw Self.bad("prompt", "prompt must be a string or a non-empty list of strings")
            }
        }
        let context = max(1, limits.context)
        let maxWhat = "an integer in 1...\(context) (the model's context)"
        let newer = try Self.integer(body, "max_completion_tokens", in: 1...context, what: maxWhat)
        let older = try Self.integer(body, "max_tokens", in: 1...context, what: maxWhat)
        maxTokens = newer ?? older ?? limits.defaultMaxTokens
        n = try Self.integer(body, "n", in: 1...max(1, limits.maxSamples), what: "an integer in 1...\(max(1, limits.maxSamples))") ?? 1
        var stop: [String] = []
        switch body["stop"] {
        case nil, .null?: break
        case .string(let s)?: stop = [s]
        case .array(let a)?:
            for v in a {
                guard case .string(let s) = v else { throw Self.bad("stop", "stop must be a string or a list of strings") }
                stop.append(s)
            }
        default: throw Self.bad("stop", "stop must be a string or a list of strings")
        }
        self.stop = stop.filter { !$0.isEmpty }
        seed = try Self.integer(body, "seed", in: 0...Int.max, what: "an integer ≥ 0").map { UInt64($0) }
        temperature = try Self.number(body, "temperature", what: "a number in 0...2") { (0...2).contains($0) } ?? 1
        topP = try Self.number(body, "top_p", what: "a number in (0, 1]") { $0 > 0 && $0 <= 1 } ?? 1
        stream = try Self.boolean(body, "stream") ?? false
        includeUsage = false
        if let o = body["stream_options"], o != .null {
            guard case .object(let opts) = o else { throw Self.bad("stream_options", "stream_options must be an object, not \(o.kind)") }
            includeUsage = try Self.boolean(opts, "include_usage") ?? false
        }
    }

    /// An integer field in `range`; a fraction, a boolean, a string or a number out of range is an error naming it.
    static func integer(_ body: JSONObject, _ key: String, in range: ClosedRange<Int>, what: String) throws(ServeRequestError) -> Int? {
        guard let v = body[key] else { return nil }
        switch v {
        case .null: return nil
        case .int(let i):
            guard range.contains(i) else { throw bad(key, "\(key) must be \(what), not \(i)") }
            return i
        // `2.0` and `2e0` are the integer 2 (as JSONDecoder reads them); a fraction, or a number beyond Int, is not.
        case .double(let d):
            guard let i = Int(exactly: d), range.contains(i) else { throw bad(key, "\(key) must be \(what), not \(d)") }
            return i
        default: throw bad(key, "\(key) must be \(what), not \(v.kind)")
        }
    }

    /// A finite number field accepted by `valid`.
    static func number(_ body: JSONObject, _ key: String, what: String, _ valid: (Double) -> Bool) throws(ServeRequestError) -> Double? {
        guard let v = body[key] else { return nil }
        let d: Double
        switch v {
        case .null: return nil
        case .int(let i): d = Double(i)
        case .double(let x): d = x
        default: throw bad(key, "\(key) must be \(what), not \(v.kind)")
        }
        guard d.isFinite, valid(d) else { throw bad(key, "\(key) must be \(what), not \(d)") }
        return d
    }

    static func boolean(_ body: JSONObject, _ key: String) throws(ServeRequestError) -> Bool? {
        guard let v = body[key] else { return nil }
        switch v {
        case .null: return nil
        case .bool(let b): return b
        default: throw bad(key, "\(key) must be true or false, not \(v.kind)")
        }
    }

    /// Message content: a string, or a list of parts whose text parts are concatenated.
    static func content(_ v: JSONValue?, at i: Int) throws(ServeRequestError) -> String {
        if case .string(let s)? = v { return s }
        if case .array(let parts)? = v {
            var text = ""
            for p in parts {
                guard case .object(let d) = p, d["type"] == .string("text"), case .string(let t)? = d["text"] else {
                    throw bad("messages", "messages[\(i)].content: only text parts are supported")
                }
                text += t
            }
            return text
        }
        throw bad("messages", "messages[\(i)].content must be a string or a list of text parts")
    }
}
