import SealEngine

/// What the inner loop does with a self-edit that is empty (nothing but whitespace). SEAL's scripts differ, so each
/// of their choices is here: the reference's `naive` arm trained on empty completions through the usual rule (the
/// passage alone with line splitting); its later query_server drops empty completions before scoring them (they
/// can never be kept); continual_self_edits.py uses the passage's own text in place of an empty completion.
public enum EmptySelfEditPolicy: String, Sendable, CaseIterable {
    /// Through the rule like any self-edit: with line splitting the passage alone; without it a title-only row and
    /// the passage (what SEAL's naive arm and its CPT fallback trained on).
    case train
    /// Unusable: reward 0, recorded as invalid, never kept (SEAL's query_server filter).
    case invalid
    /// The passage's text stands in for the self-edit (SEAL's continual_self_edits.py: `completion or context`).
    case context
}

/// Self-edit → training sequences exactly as SEAL's reference does (`build_train_sequences` in its
/// knowledge-incorporation/src/utils.py, as every driver calls it):
///
/// 1. segments: the self-edit cut at every `---`, each stripped, blank ones dropped; when none is left, the whole
///    self-edit stripped is the one segment (so `---` alone trains on the text "---").
/// 2. with `splitLines` (SEAL's setting for every evaluation; its query_server `--split_newlines`):
///    - a self-QA completion (one holding both a `Question <digits>:` and an `Answer:` marker) is cut before every
///      newline followed by a `Question <digits>:` marker, ignoring `---`; a first piece that does not start with
///      "Question" becomes "Question 1: " + it (the self-qa prompt ends with "Question 1: ");
///    - any other completion: every non-blank line of every segment, stripped; when the second starts with "1.",
///      the first is dropped (a preamble such as "Here are the implications:").
/// 3. each segment becomes "{title}\n{segment}", and the passage "{title}\n{context stripped}" is appended.
///
/// Stripping, line breaks, `\s` and `\d` follow Python's definitions (PythonText), which is what makes the rule
/// agree with the reference on every one of SEAL's 13,250 evaluation completions (Tests: SelfEditSequenceTests).
/// There is no cap on the number of sequences and no "Implications:" stripping: SEAL has neither (a later fork
/// caps at 30); a run that wants fewer sequences should use `knowledge.split_lines = false`.
public struct SelfEditRules: Sendable, Equatable {
    public var splitLines: Bool
    public var empty: EmptySelfEditPolicy

    public init(splitLines: Bool = true, empty: EmptySelfEditPolicy = .train) {
        self.splitLines = splitLines; self.empty = empty
    }

    /// Whether a self-edit counts as empty: nothing but (Python) whitespace.
    public static func isEmpty(_ selfEdit: String) -> Bool { selfEdit.unicodeScalars.allSatisfy(PythonText.isSpace) }

    /// The training sequences of a self-edit about a passage, the passage last. Throws InvalidSelfEdit only for
    /// an empty self-edit under `EmptySelfEditPolicy.invalid`; every other self-edit yields at least one sequence
    /// of its own plus the passage.
    public func sequences(selfEdit: String, title: String, context: String) throws -> [String] {
        var text = selfEdit
        if Self.isEmpty(selfEdit) {
            switch empty {
            case .train: break
            case .invalid: throw InvalidSelfEdit("empty self-edit: it yields no training sequence of its own (knowledge.empty_self_edit = invalid)")
            case .context: text = context
            }
        }
        let all = Array(text.unicodeScalars)
        let scalars = all[...]
        var segments = PythonText.split(scalars, separator: Array("---".unicodeScalars)).map(PythonText.strip).filter { !$0.isEmpty }
        if segments.isEmpty { segments = [PythonText.strip(scalars)] }
        var out: [String] = []
        if splitLines {
            if Self.containsQuestionMarker(scalars) && Self.containsAnswerMarker(scalars) {
                let pieces = Self.splitBeforeQuestions(PythonText.strip(scalars))
                for (i, p) in pieces.enumerated() {
                    if i == 0 && !PythonText.hasPrefix(PythonText.lstrip(p), "Question") {
                        out.append("Question 1: " + PythonText.string(PythonText.strip(p)))
                    } else {
                        out.append(PythonText.string(p))
                    }
                }
            } else {
                var lines: [ArraySlice<Unicode.Scalar>] = []
                for seg in segments {
                    for line in PythonText.splitlines(seg) {
                        let t = PythonText.strip(line)
                        if !t.isEmpty { lines.append(t) }
                    }
                }
                if lines.count >= 2 && PythonText.hasPrefix(lines[1], "1.") { lines.removeFirst() }
                out = lines.map(PythonText.string)
            }
        } else {
            out = segments.map(PythonText.string)
        }
        return out.map { title + "\n" + $0 } + [Self.passageSequence(title: title, context: context)]
    }

    /// The passage as a training sequence, "{title}\n{context stripped}": the last sequence of every self-edit and
    /// all SEAL's naive ("train on the passage") arm trains on.
    public static func passageSequence(title: String, context: String) -> String {
        title + "\n" + PythonText.string(PythonText.strip(Array(context.unicodeScalars)[...]))
    }

    /// Whether `Question`, whitespace (one or more), decimal digits (one or more) and `:` start at `i`
    /// (the reference's `Question\s+\d+:`).
    static func questionMarker(_ s: ArraySlice<Unicode.Scalar>, at i: Int) -> Bool {
        guard PythonText.hasPrefix(s[i...], "Question") else { return false }
        var j = i + 8
        let spaceStart = j
        while j < s.endIndex && PythonText.isSpace(s[j]) { j += 1 }
        if j == spaceStart { return false }
        let digitStart = j
        while j < s.endIndex && PythonText.isDecimal(s[j]) { j += 1 }
        if j == digitStart { return false }
        return j < s.endIndex && s[j] == ":"
    }

    static func containsQuestionMarker(_ s: ArraySlice<Unicode.Scalar>) -> Bool {
        s.indices.contains { s[$0] == "Q" && questionMarker(s, at: $0) }
    }

    /// `Answer\s*:` anywhere.
    static func containsAnswerMarker(_ s: ArraySlice<Unicode.Scalar>) -> Bool {
        s.indices.contains { i in
            guard s[i] == "A", PythonText.hasPrefix(s[i...], "Answer") else { return false }
            var j = i + 6
            while j < s.endIndex && PythonText.isSpace(s[j]) { j += 1 }
            return j < s.endIndex && s[j] == ":"
        }
    }

    /// The reference's `re.split(r'\n(?=Question\s+\d+:)', text)`: cut at (and drop) every newline that a
    /// Question marker follows.
    static func splitBeforeQuestions(_ s: ArraySlice<Unicode.Scalar>) -> [ArraySlice<Unicode.Scalar>] {
        var out: [ArraySlice<Unicode.Scalar>] = []
        var start = s.startIndex
        for i in s.indices where s[i] == "\n" && i + 1 < s.endIndex && questionMarker(s, at: i + 1) {
            out.append(s[start..<i])
            start = i + 1
        }
        out.append(s[start...])
        return out
    }
}
