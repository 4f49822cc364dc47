import Foundation
import SealGenerate
import SealTokenizer

/// How grids are written as text.
public enum GridFormat: String, Sendable, CaseIterable {
    /// numpy's `str(array)` of a 2-D integer array, as SEAL's reference (`PythonListGridRepresenter`) writes grids:
    /// `[[0 1]\n [2 3]]`. ARC colours are single digits, so numpy pads nothing; a 30 × 30 grid's rows are 62
    /// characters, under numpy's 75-character line width, and 900 cells are under its 1000-element summarising
    /// threshold, so no ARC grid is ever wrapped or elided.
    case numpy
    /// One line of digits per row, no separators: `01\n23` (about half the tokens of numpy's form).
    case compact

    public func render(_ g: Grid) -> String {
        switch self {
        case .numpy:
            var s = "["
            for r in 0..<g.rows {
                s += r == 0 ? "[" : "\n ["
                for c in 0..<g.cols {
                    if c > 0 { s += " " }
                    s += String(g[r, c])
                }
                s += "]"
            }
            return s + "]"
        case .compact:
            return (0..<g.rows).map { r in (0..<g.cols).map { String(g[r, $0]) }.joined() }.joined(separator: "\n")
        }
    }

    /// Parses a grid written in this format; nil when the text is not one (ragged rows, a value that is not a
    /// single digit, more than 30 rows or columns, stray text).
    public func parse(_ text: String) -> Grid? {
        switch self {
        case .numpy: return Self.parseBracketed(text)
        case .compact: return Self.parseCompact(text)
        }
    }

    /// Nested brackets with digits separated by spaces, newlines or commas: numpy's print and Python's list both.
    static func parseBracketed(_ text: String) -> Grid? {
        let b = Array(text.utf8)
        var i = 0
        func skip() { while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 || b[i] == 0x2C { i += 1 } }
        skip()
        guard i < b.count, b[i] == UInt8(ascii: "[") else { return nil }
        i += 1
        var rows: [[UInt8]] = []
        while true {
            skip()
            guard i < b.count else { return nil }
            if b[i] == UInt8(ascii: "]") { i += 1; break }
            guard b[i] == UInt8(ascii: "[") else { return nil }
            i += 1
            var row: [UInt8] = []
            while true {
                skip()
                guard i < b.count else { return nil }
                if b[i] == UInt8(ascii: "]") { i += 1; break }
                guard (0x30...0x39).contains(b[i]) else { return nil }
                // One digit, then a separator or the row's end (so "10" is rejected, not read as 1, 0).
                let d = b[i] - 0x30
                i += 1
                if i < b.count, (0x30...0x39).contains(b[i]) { return nil }
                row.append(d)
            }
            if row.isEmpty || row.count > Grid.maxSide { return nil }
            rows.append(row)
            if rows.count > Grid.maxSide { return nil }
        }
        skip()
        guard i == b.count, let first = rows.first, rows.allSatisfy({ $0.count == first.count }) else { return nil }
        return Grid(rows: rows.count, cols: first.count, cells: rows.flatMap { $0 })
    }

    static func parseCompact(_ text: String) -> Grid? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.filter { $0 != " " && $0 != "\r" && $0 != "\t" } }
        let kept = Array(lines.drop { $0.isEmpty }.reversed().drop { $0.isEmpty }.reversed())
        guard let first = kept.first, !first.isEmpty, first.count <= Grid.maxSide, kept.count <= Grid.maxSide,
              kept.allSatisfy({ $0.count == first.count && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return nil }
        return Grid(rows: kept.count, cols: first.count, cells: kept.flatMap { $0.utf8.map { $0 - 0x30 } })
    }

    /// A model's answer back to a grid: the text up to the first `#` (the end-of-output mark of the prompts),
    /// without a surrounding code fence; nil when what is left is not a grid.
    public func parseAnswer(_ text: String) -> Grid? {
        var t = Substring(text)
        if let h = t.firstIndex(of: "#") { t = t[..<h] }
        var s = t.trimmingCharacters(in: .whitespacesAndNewlines)
        if s.hasPrefix("```") {
            s = String(s.drop { $0 != "\n" })
            if s.hasSuffix("```") { s = String(s.dropLast(3)) }
            s = s.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return parse(s)
    }
}

/// The chat format prompts are written in: the model's own (Llama-3 or Qwen2.5) or none (a base model).
public enum ARCChat: Sendable, Equatable {
    case none
    case chat(ChatFormat)

    /// The text that ends an assistant turn (what a training completion ends with), or "" without a chat format.
    public var endOfTurn: String {
        if case .chat(let f) = self { return f.endOfTurn }
        return ""
    }

    /// Whether prompts written in this format are encoded with the tokenizer's special tokens (BOS): without a
    /// chat format yes; in one, as the format says (`ChatFormat.addsSpecialTokens`: a ChatML template writes none,
    /// so a GGUF tokenizer whose BOS is `<|im_start|>` must not add a second).
    public var promptSpecialTokens: Bool {
        if case .chat(let f) = self { return f.addsSpecialTokens }
        return true
    }

    /// The ids of a prompt written in this format.
    public func encode(_ prompt: String, with tokenizer: Tokenizer) -> [Int] {
        tokenizer.encode(prompt, addSpecialTokens: promptSpecialTokens)
    }
}

/// A prompt as the model sees it: the chat-formatted text up to where the answer starts (no BOS: the tokenizer
/// adds it), and the answer text that follows it (with the end-of-turn marker of the format).
public struct ARCPromptText: Sendable, Equatable {
    public var prompt: String
    public var completion: String
}

/// SEAL's prompts, built in code.
public enum ARCPrompts {
    /// `GPTTextMessageRepresenterV2`'s instruction (system message) before the demonstrations.
    public static func instruction(_ format: GridFormat) -> String {
        "Figure out the underlying transformation in the following examples and apply it to the test case. "
            + "Here are some examples from this transformation, your answer must follow the format.\n"
            + (format == .numpy ? "The input-output grids are provided as python arrays:\n"
                                : "The input-output grids are provided as rows of digits:\n")
    }

    /// A task query as SEAL's TTT and inference write it: the system message holds the instruction and every
    /// demonstration as `input -> output#` (one per line); the user message is `test_input -> `; the answer is
    /// `test_output#`. In the Llama-3 format, messages are trimmed as Llama 3.x's chat template trims them
    /// (`message['content'] | trim`), so the text equals `apply_chat_template`'s.
    public static func query(demos: [ARCPair], input: Grid, output: Grid?, format: GridFormat, chat: ARCChat) -> ARCPromptText {
        var system = instruction(format)
        for d in demos { system += format.render(d.input) + " -> " + format.render(d.output) + "#\n" }
        let user = format.render(input) + " -> "
        let answer = output.map { format.render($0) + "#" } ?? ""
        switch chat {
        case .none:
            return ARCPromptText(prompt: system + user, completion: answer)
        case .chat(.llama3):
            let trim = { (s: String) in s.trimmingCharacters(in: .whitespacesAndNewlines) }
            return ARCPromptText(prompt: ChatFormat.llama3.prompt(user: trim(user), system: trim(system)),
                                 completion: answer.isEmpty ? "" : trim(answer) + ChatFormat.llama3.endOfTurn)
        case .chat(let f):
            return ARCPromptText(prompt: f.prompt(user: user, system: system), completion: answer.isEmpty ? "" : answer + f.endOfTurn)
        }
    }

    /// The self-edit request's system message (SEAL's `utils/prompts.py`).
    public static let selfEditSystem = "You are a helpful assistant that provide the correct output for the given task immediately."

    /// The self-edit request after the demonstrations (SEAL's `utils/prompts.py`, verbatim).
    public static let selfEditInstruction = """

    You are configuring a model training pipeline by selecting from predefined tools.

    You must make two decisions:

    1. **Data Generation Tools** — For each of the following, choose true or false:
        - use_basic_augmentations
        - use_size_augmentations
        - use_chain_augmentations
        - use_repeat_augmentations

    2. **Training Configuration** — Choose one of:
        - "train_using_all_tokens"
        - "train_using_output_tokens"

    Also specify:
        - learning_rate (float)
        - num_train_epochs (integer)

    ### Output Format

    Respond with a valid JSON object. Do not include any explanation, markdown, or extra text. Use lowercase `true`/`false` for booleans and ensure correct JSON syntax.

    Example output:

    {
      "data_generation": {
        "use_basic_augmentations": ...,
        "use_size_augmentations": ...,
        "use_chain_augmentations": ...,
        "use_repeat_augmentations": ...
      },
      "training": {
        "strategy": ...,
        "learning_rate": ...,
        "num_train_epochs": ...
      }
    }

    """

    /// The user message of the self-edit request: each demonstration as `Input:` and `Output:` blocks of
    /// space-separated rows, then `------` and the instruction (SEAL's `get_prompt`).
    public static func selfEditUser(_ task: ARCTask) -> String {
        var s = ""
        for p in task.train {
            s += "Input:\n"
            for r in 0..<p.input.rows { s += (0..<p.input.cols).map { String(p.input[r, $0]) }.joined(separator: " ") + "\n" }
            s += "\nOutput:\n"
            for r in 0..<p.output.rows { s += (0..<p.output.cols).map { String(p.output[r, $0]) }.joined(separator: " ") + "\n" }
            s += "\n"
        }
        return s + "------\n\n" + selfEditInstruction
    }

    /// The full self-edit prompt. SEAL writes the Llama-3 turns by hand (no date header in the system turn, no
    /// trimming); that is reproduced. Qwen2.5 uses its chat template with this system message; without a chat
    /// format the system message and the request are joined by a blank line.
    public static func selfEditPrompt(_ task: ARCTask, chat: ARCChat) -> String {
        let user = selfEditUser(task)
        switch chat {
        case .none: return selfEditSystem + "\n\n" + user
        case .chat(.llama3):
            return "<|start_header_id|>system<|end_header_id|>\n\n\(selfEditSystem)<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n\(user)<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        case .chat(let f): return f.prompt(user: user, system: selfEditSystem)
        }
    }
}
