import Foundation
import SealEngine

/// A prompt with named placeholders, Python `str.format` style: `{name}` is replaced, `{{` and `}}` are literal
/// braces. Parsed once, so a passage that itself contains braces is never re-read as a template, and an unknown
/// placeholder is an error naming it (a misspelt `{contxt}` must not reach the model verbatim).
public struct PromptTemplate: Sendable, Equatable {
    enum Piece: Sendable, Equatable { case text(String), field(String) }
    let pieces: [Piece]
    public let source: String

    /// - Parameters:
    ///   - fields: the placeholders this template may use.
    ///   - source: where the text came from (a config key, a file), for error messages.
    public init(_ text: String, fields: Set<String>, source: String) throws {
        self.source = source
        var pieces: [Piece] = []
        var literal = ""
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "{" {
                if i + 1 < chars.count && chars[i + 1] == "{" { literal.append("{"); i += 2; continue }
                guard let close = chars[(i + 1)...].firstIndex(of: "}") else {
                    throw KnowledgeDataError("\(source): unclosed '{' at character \(i) (write '{{' for a literal brace)")
                }
                let name = String(chars[(i + 1)..<close])
                guard fields.contains(name) else {
                    let known = fields.sorted().map { "{\($0)}" }.joined(separator: ", ")
                    throw KnowledgeDataError("\(source): unknown placeholder {\(name)} (known: \(known); write '{{' and '}}' for literal braces)")
                }
                if !literal.isEmpty { pieces.append(.text(literal)); literal = "" }
                pieces.append(.field(name))
                i = close + 1
            } else if c == "}" {
                guard i + 1 < chars.count && chars[i + 1] == "}" else {
                    throw KnowledgeDataError("\(source): single '}' at character \(i) (write '}}' for a literal brace)")
                }
                literal.append("}"); i += 2
            } else {
                literal.append(c); i += 1
            }
        }
        if !literal.isEmpty { pieces.append(.text(literal)) }
        self.pieces = pieces
    }

    /// The placeholders the template uses.
    public var fields: Set<String> { Set(pieces.compactMap { if case .field(let n) = $0 { return n }; return nil }) }

    public func render(_ values: [String: String]) -> String {
        var out = ""
        for p in pieces {
            switch p {
            case .text(let t): out += t
            case .field(let n): out += values[n] ?? ""
            }
        }
        return out
    }
}

/// SEAL's prompts and the rules that turn a self-edit into training sequences.
public enum KnowledgePrompts {
    /// The self-edit prompts of SEAL's knowledge experiments, verbatim from the `prompt` field of its data files
    /// (`synthetic_data/**`: implications in `*_val.json`, the others in `alternate_prompts/`).
    public static let selfEditTemplates: [String: String] = [
        "implications": "Let's read the following passage and produce a list of implications derived directly or indirectly from the content.\n\nPassage:\n{title}\n{context}\n\nImplications:\n",
        "implications-long": "Let's read the following passage and produce a long list of implications derived directly or indirectly from the content.\n\nPassage:\n{title}\n{context}\n\nImplications:\n",
        "implications-very-long": "Let's read the following passage and produce a very long list of implications derived directly or indirectly from the content.\n\nPassage:\n{title}\n{context}\n\nImplications:\n",
        "rewrite": "Let's read the following passage and rewrite it in a few different ways, each one separated by a newline.\n\nPassage:\n{title}\n{context}\n\nRewritten passages:\n",
        "self-qa": "Let's read the following passage and rewrite it in a question-answer format.\n\nPassage:\n{title}\n{context}\n\nQuestion 1: ",
    ]

    /// Placeholders a self-edit prompt may use.
    public static let passageFields: Set<String> = ["title", "context"]

    /// The self-edit prompt to use: `template` (a user's text with `{title}` and `{context}`) when non-empty, else
    /// the built-in prompt called `name`. Unknown names and placeholders are errors naming them.
    public static func selfEditTemplate(name: String, template: String = "", source: String = "knowledge.prompt_template") throws -> PromptTemplate {
        if !template.isEmpty { return try PromptTemplate(template, fields: passageFields, source: source) }
        guard let text = selfEditTemplates[name] else {
            throw KnowledgeDataError("knowledge.prompt: unknown prompt '\(name)' (\(selfEditTemplates.keys.sorted().joined(separator: ", ")), or set knowledge.prompt_template)")
        }
        return try PromptTemplate(text, fields: passageFields, source: "built-in prompt \(name)")
    }

    /// The `implications` self-edit prompt.
    public static func implications(title: String, context: String) -> String {
        builtIn("implications", title: title, context: context)
    }

    /// The `rewrite` self-edit prompt.
    public static func rewrite(title: String, context: String) -> String {
        builtIn("rewrite", title: title, context: context)
    }

    /// A built-in prompt filled in. Every built-in parses (PromptTests renders each); were one not to, its
    /// placeholders are substituted literally rather than the program stopping.
    static func builtIn(_ name: String, title: String, context: String) -> String {
        if let t = try? selfEditTemplate(name: name) { return t.render(["title": title, "context": context]) }
        return (selfEditTemplates[name] ?? "").replacingOccurrences(of: "{title}", with: title).replacingOccurrences(of: "{context}", with: context)
    }

    /// The no-passage question prompt.
    public static func question(title: String, question: String) -> String {
        "Let's answer a question directly and concisely.\nQuestion: Topic: \(title)\n\(question)\nAnswer:"
    }

    /// Self-edit → training sequences by SEAL's rule (SelfEditRules); an empty self-edit goes through the rule
    /// like any other (the passage alone when splitting lines), as SEAL's naive arm did.
    public static func sequences(selfEdit: String, title: String, context: String, splitLines: Bool) throws -> [String] {
        try SelfEditRules(splitLines: splitLines).sequences(selfEdit: selfEdit, title: title, context: context)
    }
}
