import Foundation
import SealGenerate
import SealTokenizer

/// The language of self-edits that constrained decoding (`arc.constrained_decoding`) lets the policy write: the
/// JSON object of SEAL-NOTES.md, keys in the schema's order (the order the prompt's example shows), with the
/// whitespace a model writes between tokens. Every text of the language parses with `ARCSelfEdit.parse`; the step
/// budget (which depends on how many TTT examples the chosen augmentations give) is still checked after parsing.
///
/// Bounds that keep a sample finite and its values sane:
/// - whitespace: at most `maxWhitespace` (16) of space, tab, newline, carriage return between tokens (enough for
///   pretty-printing with 8-space indentation); none after the closing brace (then EOS is forced);
/// - `learning_rate`: a JSON number in (0, 1] with at most 8 significant digits: `0.` and 1–8 digits, not all 0
///   (`0.0001`); `1`, `1.0`…; or a mantissa `d[.ddd]` with a negative exponent `e-N` / `e-0N`, N from 1 to 99
///   (`5e-5`, `1e-05`, `2.5E-4`), optional for mantissa `0.` forms;
/// - `num_train_epochs`: an integer from 1 to 99 (no sign, no leading zero, no fraction).
public enum ARCSelfEditGrammar {
    public static let maxWhitespace = 16
    static let fractionDigits = 8

    public static let pattern: BytePattern = {
        let ws = BytePattern.repeated(.anyOf(" \t\n\r"), min: 0, max: maxWhitespace)
        let digit = BytePattern.anyOf("0123456789"), nonzero = BytePattern.anyOf("123456789")
        let bool = BytePattern.choice([.literal("true"), .literal("false")])
        func key(_ k: String, _ value: BytePattern) -> BytePattern {
            .sequence([ws, .literal("\"\(k)\""), ws, .literal(":"), ws, value, ws])
        }
        func object(_ members: [BytePattern]) -> BytePattern {
            var parts: [BytePattern] = [.literal("{")]
            for (i, m) in members.enumerated() { if i > 0 { parts.append(.literal(",")) }; parts.append(m) }
            parts.append(.literal("}"))
            return .sequence(parts)
        }
        let exponent = BytePattern.sequence([.anyOf("eE"), .literal("-"), .optional(.literal("0")), nonzero, .optional(digit)])
        // 0.000d…: k zeros, then the first nonzero digit, then up to (fractionDigits − k − 1) more digits.
        let smallFraction = BytePattern.choice((0..<fractionDigits).map { k in
            .sequence([.literal("0."), .bytes(Array(repeating: UInt8(ascii: "0"), count: k)), nonzero,
                       .repeated(digit, min: 0, max: fractionDigits - k - 1)])
        })
        let learningRate = BytePattern.choice([
            .sequence([smallFraction, .optional(exponent)]),
            .sequence([nonzero, .optional(.sequence([.literal("."), .repeated(digit, min: 1, max: fractionDigits - 1)])), exponent]),
            .sequence([.literal("1"), .optional(.sequence([.literal("."), .repeated(.literal("0"), min: 1, max: fractionDigits - 1)]))]),
        ])
        let epochs = BytePattern.sequence([nonzero, .optional(digit)])
        let strategy = BytePattern.choice(ARCSelfEdit.Strategy.allCases.map { .literal("\"\($0.rawValue)\"") })
        let dataGeneration = object(["use_basic_augmentations", "use_size_augmentations", "use_chain_augmentations",
                                     "use_repeat_augmentations"].map { key($0, bool) })
        let training = object([key("strategy", strategy), key("learning_rate", learningRate), key("num_train_epochs", epochs)])
        return .sequence([ws, object([key("data_generation", dataGeneration), key("training", training)])])
    }()

    /// The automaton of `pattern` (a few hundred states; built once).
    public static let automaton = ByteDFA(pattern)

    /// The constraint for a tokenizer's vocabulary (building the token index takes a fraction of a second for a
    /// 128k vocabulary, so a domain builds it once). Throws when the vocabulary cannot spell a self-edit (e.g.
    /// TinyStories' 2,048 tokens have no `{`).
    public static func constraint(for tokenizer: Tokenizer) throws -> RegularConstraint {
        do { return try RegularConstraint(automaton, tokenizer: tokenizer) } catch is RegularConstraint.BuildError {
            throw ARCDataError("arc.constrained_decoding: the tokenizer \(tokenizer.source) cannot spell a self-edit (its vocabulary lacks characters of the JSON schema)")
        }
    }
}
