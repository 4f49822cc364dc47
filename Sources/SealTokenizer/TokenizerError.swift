/// The one error type of this module.
///
/// A `tokenizer.json` that cannot be honoured exactly must fail loudly instead of silently
/// producing ids that differ from HuggingFace's: a wrong id is far harder to notice downstream
/// than an error at load time. So every problem — unreadable file, malformed JSON, a missing key,
/// a component type this module does not implement — becomes a `TokenizerError` whose
/// `description` names the file and the JSON key path of the offending part.
public struct TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable {
        /// The file could not be read.
        case io
        /// The bytes are not valid JSON (or not valid UTF-8).
        case malformedJSON
        /// A key the format requires is absent.
        case missingKey
        /// A key is present but its value has the wrong type or an impossible value.
        case invalidValue
        /// A component (model, normalizer, pre-tokenizer, ...) this module does not implement.
        case unsupported
    }

    public let kind: Kind
    /// The file (or other source) the tokenizer was read from.
    public let file: String
    /// The JSON key path of the offending part, e.g. `model.merges[17]`; empty for whole-file problems.
    public let key: String
    public let message: String

    public init(_ kind: Kind, file: String, key: String, _ message: String) {
        self.kind = kind
        self.file = file
        self.key = key
        self.message = message
    }

    public var description: String {
        key.isEmpty ? "\(file): \(message)" : "\(file): \(key): \(message)"
    }
}
