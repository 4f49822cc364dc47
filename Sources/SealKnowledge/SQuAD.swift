import Foundation

/// One question about a passage and its accepted answers. SEAL's files carry one answer per question; the official
/// SQuAD v1.1 layout carries several (crowd workers' spans), all kept here in file order with exact repeats
/// removed, so `answers[0]` is the answer SEAL used.
public struct QuestionAnswer: Sendable, Equatable {
    public var question: String
    public var answers: [String]
    /// The first accepted answer (SEAL's gold).
    public var answer: String { answers[0] }

    public init(question: String, answers: [String]) {
        precondition(!answers.isEmpty, "a question needs at least one answer")
        self.question = question
        self.answers = answers
    }

    public init(question: String, answer: String) { self.init(question: question, answers: [answer]) }
}

/// A passage and the questions that test whether a model absorbed it.
public struct Passage: Sendable, Equatable {
    /// "p<i>": the passage's index in the file it was read from (whatever subset or order is taken later).
    public var id: String
    public var title: String
    public var context: String
    public var questions: [QuestionAnswer]

    public init(id: String, title: String, context: String, questions: [QuestionAnswer]) {
        self.id = id; self.title = title; self.context = context; self.questions = questions
    }
}

public struct KnowledgeDataError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public init(message: String) { self.message = message }
    public var description: String { message }
}

public enum KnowledgeData {
    /// Reads passages from either layout, told apart by the top level: a JSON list is SEAL's schema, an object with
    /// a `data` list is the official SQuAD layout.
    public static func load(_ path: String) throws -> [Passage] {
        let root = try readJSON(path)
        if root is [Any] { return try parseSEAL(root, source: path) }
        if let o = root as? [String: Any], o["data"] != nil { return try parseOfficial(root, source: path) }
        throw KnowledgeDataError("\(path): expected a JSON list of passages (SEAL's schema) or an object with a 'data' list (SQuAD v1.1)")
    }

    /// Reads SEAL's schema: a JSON list of `{title, context, questions: [{question, answer}]}` (extra keys such as
    /// `completions` and `prompt` are ignored); `answer` may also be a list of accepted answers. Entry i gets the
    /// id "p<i>". Missing fields, wrong types and empty answers are errors naming the entry.
    public static func loadSEAL(_ path: String) throws -> [Passage] { try parseSEAL(try readJSON(path), source: path) }

    /// Reads the official SQuAD v1.1 layout: `{"data": [{"title", "paragraphs": [{"context", "qas": [{"question",
    /// "answers": [{"text"}]}]}]}]}`. Each paragraph is a passage (ids "p<i>" in file order); titles have their
    /// underscores turned into spaces, as in SEAL's conversion ("Super_Bowl_50" → "Super Bowl 50"). SQuAD 2.0's
    /// unanswerable questions (`is_impossible`) are skipped, and so is a paragraph left with no question.
    public static func loadOfficial(_ path: String) throws -> [Passage] { try parseOfficial(try readJSON(path), source: path) }

    static func readJSON(_ path: String) throws -> Any {
        guard let data = FileManager.default.contents(atPath: path) else { throw KnowledgeDataError("\(path): cannot read") }
        do {
            return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw KnowledgeDataError("\(path): not valid JSON (\(error.localizedDescription))")
        }
    }

    /// An answer list: a non-empty string, or a non-empty list of them; blank answers are errors.
    static func answers(_ any: Any?, at place: String) throws -> [String] {
        var list: [String]
        if let s = any as? String { list = [s] } else if let a = any as? [Any], !a.isEmpty, a.allSatisfy({ $0 is String }) {
            list = a.map { $0 as! String }
        } else {
            throw KnowledgeDataError("\(place): 'answer' must be a string or a non-empty list of strings (\(found(any)))")
        }
        if list.contains(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) {
            throw KnowledgeDataError("\(place): empty gold answer")
        }
        var seen = Set<String>()
        list = list.filter { seen.insert($0).inserted }
        return list
    }

    /// How a field's value reads in an error: "missing", or "found <its JSON, shortened>" (the entry's author sees
    /// what is there instead of only what should be).
    static func found(_ any: Any?) -> String {
        guard let any else { return "missing" }
        if any is NSNull { return "found null" }
        guard let data = try? JSONSerialization.data(withJSONObject: [any], options: [.fragmentsAllowed]) else { return "found \(type(of: any))" }
        var text = String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
        if text.count > 40 { text = String(text.prefix(37)) + "..." }
        return "found \(text)"
    }

    public static func parseSEAL(_ root: Any, source path: String) throws -> [Passage] {
        guard let list = root as? [Any] else { throw KnowledgeDataError("\(path): expected a JSON list of passages") }
        return try list.enumerated().map { i, any in
            guard let e = any as? [String: Any] else { throw KnowledgeDataError("\(path): entry \(i) is not an object (\(found(any)))") }
            guard let title = e["title"] as? String else { throw KnowledgeDataError("\(path): entry \(i): 'title' must be a string (\(found(e["title"])))") }
            guard let context = e["context"] as? String else { throw KnowledgeDataError("\(path): entry \(i): 'context' must be a string (\(found(e["context"])))") }
            if isBlank(context) { throw KnowledgeDataError("\(path): entry \(i): empty 'context'") }
            guard let qs = e["questions"] as? [Any] else { throw KnowledgeDataError("\(path): entry \(i): 'questions' must be a list (\(found(e["questions"])))") }
            let questions = try qs.enumerated().map { j, q -> QuestionAnswer in
                let place = "\(path): entry \(i) question \(j)"
                guard let d = q as? [String: Any] else { throw KnowledgeDataError("\(place): must be an object with string 'question' and 'answer' (\(found(q)))") }
                guard let qq = d["question"] as? String else { throw KnowledgeDataError("\(place): 'question' must be a string (\(found(d["question"])))") }
                if isBlank(qq) { throw KnowledgeDataError("\(place): empty question") }
                return QuestionAnswer(question: qq, answers: try answers(d["answer"] ?? d["answers"], at: place))
            }
            return Passage(id: "p\(i)", title: title, context: context, questions: questions)
        }
    }

    static func isBlank(_ s: String) -> Bool { s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }

    public static func parseOfficial(_ root: Any, source path: String) throws -> [Passage] {
        guard let o = root as? [String: Any], let data = o["data"] as? [Any] else {
            throw KnowledgeDataError("\(path): expected an object with a 'data' list (SQuAD v1.1 layout)")
        }
        var out: [Passage] = []
        for (a, articleAny) in data.enumerated() {
            let at = "\(path): data[\(a)]"
            guard let article = articleAny as? [String: Any] else { throw KnowledgeDataError("\(at) is not an object") }
            guard let rawTitle = article["title"] as? String else { throw KnowledgeDataError("\(at): 'title' must be a string (\(found(article["title"])))") }
            guard let paragraphs = article["paragraphs"] as? [Any] else { throw KnowledgeDataError("\(at): 'paragraphs' must be a list (\(found(article["paragraphs"])))") }
            let title = rawTitle.replacingOccurrences(of: "_", with: " ")
            for (p, paragraphAny) in paragraphs.enumerated() {
                let pp = "\(at).paragraphs[\(p)]"
                guard let paragraph = paragraphAny as? [String: Any] else { throw KnowledgeDataError("\(pp) is not an object") }
                guard let context = paragraph["context"] as? String else { throw KnowledgeDataError("\(pp): 'context' must be a string (\(found(paragraph["context"])))") }
                if isBlank(context) { throw KnowledgeDataError("\(pp): empty 'context'") }
                guard let qas = paragraph["qas"] as? [Any] else { throw KnowledgeDataError("\(pp): 'qas' must be a list (\(found(paragraph["qas"])))") }
                var questions: [QuestionAnswer] = []
                for (q, qaAny) in qas.enumerated() {
                    let qp = "\(pp).qas[\(q)]"
                    guard let qa = qaAny as? [String: Any] else { throw KnowledgeDataError("\(qp) is not an object") }
                    guard let question = qa["question"] as? String else { throw KnowledgeDataError("\(qp): 'question' must be a string (\(found(qa["question"])))") }
                    if isBlank(question) { throw KnowledgeDataError("\(qp): empty question") }
                    if let impossible = qa["is_impossible"] as? Bool, impossible { continue }
                    guard let answerList = qa["answers"] as? [Any], !answerList.isEmpty else {
                        throw KnowledgeDataError("\(qp): 'answers' must be a non-empty list (\(found(qa["answers"])))")
                    }
                    let texts = try answerList.enumerated().map { k, ans -> String in
                        guard let d = ans as? [String: Any], let t = d["text"] as? String else {
                            throw KnowledgeDataError("\(qp).answers[\(k)]: needs a string 'text' (\(found(ans)))")
                        }
                        return t
                    }
                    questions.append(QuestionAnswer(question: question, answers: try answers(texts, at: "\(qp).answers")))
                }
                if questions.isEmpty { continue }
                out.append(Passage(id: "p\(out.count)", title: title, context: context, questions: questions))
            }
        }
        return out
    }

    /// The passages in the order of Python's `random.seed(seed); random.shuffle(passages)`.
    public static func pythonShuffled(_ passages: [Passage], seed: Int) -> [Passage] {
        var rng = PythonRandom(seed: seed)
        var out = passages
        rng.shuffle(&out)
        return out
    }

    /// A subset as configured: optionally shuffled as Python does with `shuffleSeed`, then `skip` passages
    /// dropped, then the first `count` kept (0: all). SEAL's evaluation set is (seed 42, skip 0, count 200).
    public static func select(_ passages: [Passage], shuffleSeed: Int?, skip: Int = 0, count: Int = 0) -> [Passage] {
        var ps = passages
        if let seed = shuffleSeed { ps = pythonShuffled(ps, seed: seed) }
        ps = Array(ps.dropFirst(max(0, skip)))
        if count > 0 { ps = Array(ps.prefix(count)) }
        return ps
    }
}

/// Self-edits written outside seal, keyed by passage: SEAL's synthetic-data files (a list of `{title, context,
/// completions: [String], prompt}`, e.g. GPT-4.1's implications in `gpt4_1_val.json`). A passage is found by its
/// exact title and text, so the file may hold its passages in any order, or more of them.
public struct SelfEditFile: Sendable {
    public struct Entry: Sendable {
        public var title: String
        public var context: String
        public var completions: [String]
        /// The prompt that produced the completions ("" when the file has none, as in `naive_val.json`).
        public var prompt: String
    }

    public let path: String
    public let entries: [Entry]
    private let index: [String: Int]

    static func key(title: String, context: String) -> String { title + "\u{0}" + context }

    public init(path: String) throws {
        self.path = path
        let root = try KnowledgeData.readJSON(path)
        guard let list = root as? [Any] else { throw KnowledgeDataError("\(path): expected a JSON list of passages with 'completions'") }
        var entries: [Entry] = []
        var index: [String: Int] = [:]
        for (i, any) in list.enumerated() {
            guard let e = any as? [String: Any] else { throw KnowledgeDataError("\(path): entry \(i) is not an object (\(KnowledgeData.found(any)))") }
            guard let title = e["title"] as? String else { throw KnowledgeDataError("\(path): entry \(i): 'title' must be a string (\(KnowledgeData.found(e["title"])))") }
            guard let context = e["context"] as? String else { throw KnowledgeDataError("\(path): entry \(i): 'context' must be a string (\(KnowledgeData.found(e["context"])))") }
            guard let cs = e["completions"] as? [Any] else {
                throw KnowledgeDataError("\(path): entry \(i): 'completions' must be a list of strings (\(KnowledgeData.found(e["completions"])))")
            }
            if let j = cs.firstIndex(where: { !($0 is String) }) {
                throw KnowledgeDataError("\(path): entry \(i) completion \(j) must be a string (\(KnowledgeData.found(cs[j])))")
            }
            let prompt = e["prompt"] as? String ?? ""
            let k = Self.key(title: title, context: context)
            if index[k] != nil { throw KnowledgeDataError("\(path): entry \(i): passage '\(title)' appears twice") }
            index[k] = entries.count
            entries.append(Entry(title: title, context: context, completions: cs.map { $0 as! String }, prompt: prompt))
        }
        self.entries = entries
        self.index = index
    }

    /// The entry of a passage, or nil when the file does not hold it.
    public func entry(for passage: Passage) -> Entry? {
        index[Self.key(title: passage.title, context: passage.context)].map { entries[$0] }
    }

    /// The completions written for a passage; an error naming the passage when the file does not hold it.
    public func completions(for passage: Passage) throws -> [String] {
        guard let e = entry(for: passage) else {
            throw KnowledgeDataError("\(path): no self-edits for passage \(passage.id) ('\(passage.title)': \(passage.context.prefix(60))...)")
        }
        return e.completions
    }
}
