import Foundation
import SealCore
import SealEngine

/// An ARC self-edit: which augmentations make the TTT data and how the inner loop trains on it (SEAL-NOTES.md).
public struct ARCSelfEdit: Hashable, Sendable {
    public enum Strategy: String, Sendable, CaseIterable {
        case allTokens = "train_using_all_tokens"
        case outputTokens = "train_using_output_tokens"
    }
    public var augmentations: AugmentationSwitches
    public var strategy: Strategy
    public var learningRate: Double
    public var epochs: Int

    public init(augmentations: AugmentationSwitches, strategy: Strategy, learningRate: Double, epochs: Int) {
        self.augmentations = augmentations; self.strategy = strategy; self.learningRate = learningRate; self.epochs = epochs
    }

    /// The self-edit as SEAL's schema writes it (compact JSON).
    public var json: String {
        let a = augmentations
        return "{\"data_generation\": {\"use_basic_augmentations\": \(a.basic), \"use_size_augmentations\": \(a.size), "
            + "\"use_chain_augmentations\": \(a.chain), \"use_repeat_augmentations\": \(a.repeat)}, "
            + "\"training\": {\"strategy\": \"\(strategy.rawValue)\", \"learning_rate\": \(learningRate), \"num_train_epochs\": \(epochs)}}"
    }

    /// SEAL's step budget: a self-edit whose `epochs × examples / 2` (integer division, batch 2, as SEAL's
    /// `num_train_epochs * len(train_data) // 2 > 375`) exceeds `budget` trains nothing. Returns the reason, or nil.
    public func overBudget(examples: Int, budget: Int = 375) -> String? {
        let (prod, overflow) = epochs.multipliedReportingOverflow(by: examples)
        let steps = overflow ? Int.max : prod / 2
        return steps > budget ? "over budget: num_train_epochs \(epochs) × \(examples) examples / 2 = \(steps) > \(budget) steps" : nil
    }

    /// Parses what the policy wrote. The JSON object may be wrapped in prose or a code fence, and may have
    /// trailing commas; anything else (no object, a syntax error, a missing key, a wrong type, an absurd value)
    /// throws `InvalidSelfEdit` with the reason. Unknown extra keys are ignored, as SEAL ignores them.
    ///
    /// Types are strict: booleans are `true`/`false` (not strings or 0/1), `strategy` is one of the two strings,
    /// `learning_rate` is a number in (0, 1], `num_train_epochs` is an integer ≥ 1 (`2.0` counts as 2; `2.5`,
    /// `"2"` and `0` are invalid).
    public static func parse(_ text: String) throws -> ARCSelfEdit {
        let candidates = jsonObjects(in: text)
        if candidates.isEmpty { throw InvalidSelfEdit("no JSON object in the self-edit") }
        var firstError: String?
        var root: JSONValue?
        // The first candidate that parses and looks like a self-edit; else the first that parses at all.
        var parsed: [JSONValue] = []
        for c in candidates {
            do { parsed.append(try JSONParser.parse(c, options: [.trailingCommas, .byteOrderMark, .repairText])) } catch {
                if firstError == nil { firstError = "\(error)" }
            }
        }
        root = parsed.first { $0["data_generation"] != nil || $0["training"] != nil } ?? parsed.first
        guard let root else { throw InvalidSelfEdit("the JSON object does not parse (\(firstError ?? "?"))") }

        guard let dg = root["data_generation"] else { throw InvalidSelfEdit("missing key data_generation") }
        guard case .object = dg else { throw InvalidSelfEdit("data_generation must be an object, found \(dg.typeDescription)") }
        func flag(_ k: String) throws -> Bool {
            guard let v = dg[k] else { throw InvalidSelfEdit("missing key data_generation.\(k)") }
            guard case .bool(let b) = v else { throw InvalidSelfEdit("data_generation.\(k) must be true or false, found \(v.typeDescription)") }
            return b
        }
        let switches = AugmentationSwitches(basic: try flag("use_basic_augmentations"), size: try flag("use_size_augmentations"),
                                            chain: try flag("use_chain_augmentations"), repeat: try flag("use_repeat_augmentations"))
        guard let tr = root["training"] else { throw InvalidSelfEdit("missing key training") }
        guard case .object = tr else { throw InvalidSelfEdit("training must be an object, found \(tr.typeDescription)") }
        guard let sv = tr["strategy"] else { throw InvalidSelfEdit("missing key training.strategy") }
        guard case .string(let s) = sv, let strategy = Strategy(rawValue: s) else {
            throw InvalidSelfEdit("training.strategy must be \"train_using_all_tokens\" or \"train_using_output_tokens\", found \(sv.typeDescription)")
        }
        guard let lv = tr["learning_rate"] else { throw InvalidSelfEdit("missing key training.learning_rate") }
        guard let lr = lv.doubleValue else { throw InvalidSelfEdit("training.learning_rate must be a number, found \(lv.typeDescription)") }
        guard lr.isFinite, lr > 0, lr <= 1 else { throw InvalidSelfEdit("training.learning_rate \(lr) is outside (0, 1]") }
        guard let ev = tr["num_train_epochs"] else { throw InvalidSelfEdit("missing key training.num_train_epochs") }
        guard let ed = ev.doubleValue else { throw InvalidSelfEdit("training.num_train_epochs must be an integer, found \(ev.typeDescription)") }
        guard ed.isFinite, ed.rounded() == ed else { throw InvalidSelfEdit("training.num_train_epochs must be an integer, found \(ev.typeDescription)") }
        guard ed >= 1 else { throw InvalidSelfEdit("training.num_train_epochs \(Int(ed)) trains nothing (must be ≥ 1)") }
        let epochs = ed > 1e9 ? 1_000_000_000 : Int(ed)
        return ARCSelfEdit(augmentations: switches, strategy: strategy, learningRate: lr, epochs: epochs)
    }

    /// Balanced `{...}` spans of the text outside JSON strings, outermost first, in order of appearance.
    static func jsonObjects(in text: String) -> [String] {
        let b = Array(text.utf8)
        var out: [String] = []
        var start = 0
        while let open = b[start...].firstIndex(of: UInt8(ascii: "{")) {
            var depth = 0, inString = false, escaped = false, end: Int?
            var i = open
            while i < b.count {
                let c = b[i]
                if inString {
                    if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false }
                } else if c == UInt8(ascii: "\"") {
                    inString = true
                } else if c == UInt8(ascii: "{") {
                    depth += 1
                } else if c == UInt8(ascii: "}") {
                    depth -= 1
                    if depth == 0 { end = i; break }
                }
                i += 1
            }
            guard let end else {
                // An unclosed object (the sample ran out of tokens): offer it whole, so the error says so.
                out.append(String(decoding: b[open...], as: UTF8.self))
                break
            }
            out.append(String(decoding: b[open...end], as: UTF8.self))
            start = end + 1
        }
        return out
    }
}
