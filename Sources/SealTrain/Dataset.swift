import Foundation
import SealModel
import SealTokenizer

/// One training example as text: plain text (loss on every token) or a prompt/completion pair.
public struct TextExample: Sendable, Equatable {
    public var prompt: String?
    public var text: String
    /// Whether the prompt is encoded with the tokenizer's special tokens (BOS). A prompt a chat format wrote
    /// follows that format (`ChatFormat.addsSpecialTokens`: ChatML templates write no BOS).
    public var promptSpecialTokens: Bool
    public init(text: String) { self.prompt = nil; self.text = text; self.promptSpecialTokens = true }
    public init(prompt: String, completion: String, promptSpecialTokens: Bool = true) {
        self.prompt = prompt; self.text = completion; self.promptSpecialTokens = promptSpecialTokens
    }
}

/// Which tokens carry loss.
public enum LossOn: String, Sendable, CaseIterable {
    /// Every token after the first.
    case all
    /// Only the completion of a prompt/completion pair (plain text rows: every token).
    case completion
}

/// A tokenized example: ids and which positions are targets.
public struct EncodedExample: Sendable {
    public var ids: [Int32]
    public var targets: [Bool]
    public init(ids: [Int32], targets: [Bool]) { self.ids = ids; self.targets = targets }
}

public enum DatasetError: Error, CustomStringConvertible {
    case line(path: String, line: Int, reason: String)
    case empty(path: String)
    public var description: String {
        switch self {
        case .line(let p, let l, let r): return "\(p):\(l): \(r)"
        case .empty(let p): return "\(p): no training rows"
        }
    }
}

public enum Dataset {
    /// Reads JSONL rows `{"text": ...}` or `{"prompt": ..., "completion": ...}`. Lines end in LF or CRLF and are
    /// numbered as physical lines; blank lines are skipped; invalid UTF-8, a row with both `text` and
    /// `prompt`/`completion`, and anything else malformed is an error with its line number.
    public static func load(_ path: String) throws -> [TextExample] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError.line(path: path, line: 0, reason: "cannot read the file")
        }
        var rows: [TextExample] = []
        for line in try TextInput.lines(data, path: path) where !line.isBlank {
            let lineNo = line.number
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.text.utf8)), let d = obj as? [String: Any] else {
                throw DatasetError.line(path: path, line: lineNo, reason: "not a JSON object")
            }
            if let text = d["text"] {
                if d["prompt"] != nil || d["completion"] != nil {
                    throw DatasetError.line(path: path, line: lineNo, reason: "a row has either \"text\" or \"prompt\" and \"completion\", not both")
                }
                guard let s = text as? String else { throw DatasetError.line(path: path, line: lineNo, reason: "\"text\" must be a string") }
                if s.isEmpty { throw DatasetError.line(path: path, line: lineNo, reason: "\"text\" is empty") }
                rows.append(TextExample(text: s))
            } else if let p = d["prompt"], let c = d["completion"] {
                guard let ps = p as? String, let cs = c as? String else {
                    throw DatasetError.line(path: path, line: lineNo, reason: "\"prompt\" and \"completion\" must be strings")
                }
                if cs.isEmpty { throw DatasetError.line(path: path, line: lineNo, reason: "\"completion\" is empty") }
                rows.append(TextExample(prompt: ps, completion: cs))
            } else {
                throw DatasetError.line(path: path, line: lineNo, reason: "expected {\"text\"} or {\"prompt\", \"completion\"}")
            }
        }
        if rows.isEmpty { throw DatasetError.empty(path: path) }
        return rows
    }

    /// Tokenizes examples as HF does: `tokenizer(text)` (BOS where the tokenizer adds it); a pair is
    /// `tokenizer(prompt) + tokenizer(completion, add_special_tokens=False)`, tokenized apart so the boundary is
    /// exact. With `appendEOS` the EOS id ends the completion (and is a target: the model learns to stop); a
    /// plain text row ends in EOS when `textEOS` is true (by default: as `appendEOS`; `seal finetune` passes false
    /// unless --text-eos, so that its text rows are exactly transformers' `tokenizer(text)`).
    /// Rows longer than `maxLength` are cut on the right (the documented rule); a row left with no target is an
    /// error naming its index. Returns the encoded rows and how many were cut.
    public static func encode(_ rows: [TextExample], tokenizer: Tokenizer, lossOn: LossOn, maxLength: Int,
                              eosID: Int?, appendEOS: Bool, textEOS: Bool? = nil,
                              source: String = "data") throws -> (rows: [EncodedExample], truncated: Int) {
        let textEOS = textEOS ?? appendEOS
        var out: [EncodedExample] = []
        var truncated = 0
        for (i, r) in rows.enumerated() {
            var ids: [Int32]
            var targets: [Bool]
            if let p = r.prompt {
                let pi = tokenizer.encode(p, addSpecialTokens: r.promptSpecialTokens).map(Int32.init)
                var ci = tokenizer.encode(r.text, addSpecialTokens: false).map(Int32.init)
                if appendEOS, let e = eosID { ci.append(Int32(e)) }
                ids = pi + ci
                let completionOnly = lossOn == .completion
                targets = ids.indices.map { $0 > 0 && (!completionOnly || $0 >= pi.count) }
            } else {
                ids = tokenizer.encode(r.text).map(Int32.init)
                if textEOS, let e = eosID { ids.append(Int32(e)) }
                targets = ids.indices.map { $0 > 0 }
            }
            if ids.count > maxLength {
                ids.removeSubrange(maxLength...)
                targets.removeSubrange(maxLength...)
                truncated += 1
            }
            if !targets.contains(true) {
                throw DatasetError.line(path: source, line: i + 1, reason: "row has no token to train on (after cutting to \(maxLength) tokens)")
            }
            out.append(EncodedExample(ids: ids, targets: targets))
        }
        return (out, truncated)
    }
}
