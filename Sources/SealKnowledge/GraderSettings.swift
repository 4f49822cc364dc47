import Foundation
import SealEngine

/// Which grader decides whether an answer is correct, and its settings: the `grader.*` config keys and the
/// `--grader` options of `seal grade` / `seal knowledge grade`.
public struct GraderSettings: Sendable, Equatable {
    /// local, llm or http.
    public var kind = "local"
    /// llm: the judge model's directory.
    public var model = ""
    /// http: base URL of an OpenAI-compatible server.
    public var url = ""
    /// http: the `model` field of the requests.
    public var apiModel = "default"
    /// http: environment variable that holds the API key (never the key itself, which would land in run files).
    public var apiKeyEnv = ""
    /// Longest judge reply in tokens.
    public var maxTokens = 8
    /// http: seconds to wait for a reply.
    public var timeout = 120.0
    /// llm: auto, on or off: wrap the grading question in the judge's chat format.
    public var chat = "auto"
    /// http: PEM bundle of the certificate authorities to trust ("": SSL_CERT_FILE, else the system's).
    public var caFile = ""

    public init() {}

    public static let schema: [ConfigKey] = [
        ConfigKey("grader.kind", .string, .string("local"), "Who grades answers: local (no service; calibrated on GPT-4.1's verdicts), contains (normalised gold inside the answer), llm (a local instruct model asked the paper's grading question), http (an OpenAI-compatible server asked it)."),
        ConfigKey("grader.model", .string, .string(""), "grader.kind = llm: the judge model's directory or .gguf file."),
        ConfigKey("grader.url", .string, .string(""), "grader.kind = http: base URL (http://host:port or https://host/v1); requests go to /v1/chat/completions (or /chat/completions after /v1). Proxies come from HTTPS_PROXY / https_proxy, http_proxy and NO_PROXY / no_proxy."),
        ConfigKey("grader.api_model", .string, .string("default"), "grader.kind = http: the 'model' field of each request (e.g. gpt-4.1)."),
        ConfigKey("grader.api_key_env", .string, .string(""), "grader.kind = http: name of the environment variable holding an API key, sent as a Bearer token (\"\": none; the key itself never goes in a config)."),
        ConfigKey("grader.max_tokens", .int, .int(8), "Judges: longest reply in tokens (a yes or a no)."),
        ConfigKey("grader.timeout", .double, .double(120), "grader.kind = http: seconds to wait for one reply."),
        ConfigKey("grader.ca_file", .string, .string(""), "grader.kind = http: PEM file of the certificate authorities trusted for an https grader.url (\"\": the file SSL_CERT_FILE names, else the system's bundle). Certificates are always verified."),
        ConfigKey("grader.chat", .string, .string("auto"), "grader.kind = llm: wrap the question in the judge's chat format: auto (when its tokenizer has one), on, off."),
    ]

    public init(config: ResolvedConfig) {
        kind = config.string("grader.kind")
        model = config.string("grader.model")
        url = config.string("grader.url")
        apiModel = config.string("grader.api_model")
        apiKeyEnv = config.string("grader.api_key_env")
        maxTokens = config.int("grader.max_tokens")
        timeout = config.double("grader.timeout")
        chat = config.string("grader.chat")
        caFile = config.string("grader.ca_file")
    }

    /// The grader these settings describe; errors name the key that is wrong.
    public func makeGrader() throws -> AnswerGrading {
        switch kind {
        case "local": return LocalGrader()
        case "contains": return ContainmentGrader()
        case "llm":
            guard !model.isEmpty else { throw KnowledgeDataError("grader.kind = llm needs grader.model (the judge model's directory or .gguf file)") }
            return try LLMJudge(modelDirectory: model, chat: chat, maxTokens: maxTokens)
        case "http":
            guard !url.isEmpty else { throw KnowledgeDataError("grader.kind = http needs grader.url (http://host:port or https://host/v1 of an OpenAI-compatible server)") }
            let key = apiKeyEnv.isEmpty ? nil : ProcessInfo.processInfo.environment[apiKeyEnv]
            return try HTTPJudge(url: url, model: apiModel, apiKey: key, maxTokens: maxTokens, timeout: timeout, caFile: caFile)
        default: throw KnowledgeDataError("grader.kind: unknown grader '\(kind)' (local, contains, llm, http)")
        }
    }
}
