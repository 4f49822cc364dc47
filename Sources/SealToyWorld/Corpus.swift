import Foundation
import SealCore
import SealKnowledge
import SealModel
import SealTrain

/// A passage in SEAL's schema (`{title, context, questions: [{question, answer}]}`), the knowledge domain's input.
public struct SEALPassage: Sendable, Equatable {
    public var title: String
    public var context: String
    public var questions: [QA]
    public struct QA: Sendable, Equatable {
        public var question: String
        public var answer: String
        /// Which attribute the question asks about (nil when read from a file that is not the toy world's).
        public var attribute: Attribute?
    }
}

/// How an implications example of the corpus is written. A corpus mixing styles gives a base policy that mixes
/// them (it cannot tell from a passage which style an example will take), so ReSTEM has a strategy to find: the
/// styles differ in how much an inner loop learns from them.
public enum ImplicationsStyle: String, CaseIterable, Sendable {
    /// Each fact stated with probability `implicationsCoverage` (at least one), plus derived statements.
    case partial
    /// Every fact stated, plus derived statements.
    case complete
    /// One or two facts.
    case sparse
    /// Every fact stated, each with probability 1/2 about another value of its kind (false notes).
    case wrong
    /// Two to four lines about the person that state no fact.
    case chatter
}

/// What goes into the pretraining corpus besides the known people's biographies. Defaults are the committed
/// model's (jobs/toyworld-pretrain.toml).
public struct CorpusOptions: Sendable, Equatable {
    /// Biographies per known person (each drawn anew: another order and other templates).
    public var bioVariants = 3
    /// Fraction of known people whose question–answer pairs are in the corpus (the first ones). The others appear
    /// only in biographies: their questions measure whether the model can answer about people it only read about.
    public var qaFraction = 0.5
    /// Question phrasings per attribute in the corpus (distinct, drawn; at most 4). The evaluation question of a
    /// known person uses a phrasing not among them when one is left.
    public var qaPhrasings = 2
    /// Fraction of known people with an implications self-edit example (prompt and completion). Practice people
    /// (`ToyWorld.practice`) always have one.
    public var implicationsRate = 0.25
    /// In an implications example, the probability that each attribute is stated (at least one always is).
    /// Below 1 the base model learns to write incomplete notes, as a real base model does: room for ReSTEM.
    public var implicationsCoverage = 0.7
    /// The mixture of styles of the implications examples (weights, normalised; each example draws one). With a
    /// single style of positive weight nothing is drawn (a `partial`-only corpus is the pre-styles corpus, byte for
    /// byte).
    public var styleWeights: [ImplicationsStyle: Double] = [.partial: 0.3, .complete: 0.2, .sparse: 0.2, .wrong: 0.15, .chatter: 0.15]
    /// In an implications example, the probability of each derived statement (year of birth, a move between
    /// cities, ...).
    public var derivedRate = 0.15
    /// Fraction of known and of practice people with a rewrite self-edit example.
    public var rewriteRate = 0.1
    /// Biographies per rewrite example.
    public var rewriteCount = 2
    /// Question–answer pairs and self-edit examples as prompt/completion rows whose loss is on the answer or the
    /// self-edit only (biographies always carry loss on every token). The prompt of a practice person's example
    /// is a passage about someone who appears nowhere else: its facts cannot be predicted, only copied later, and
    /// training on them would only add noise.
    public var completionLoss = true
    public init() {}

    public func validate() throws {
        // Names as in `seal pretrain`'s config (corpus.X) and `seal toyworld generate`'s options (--x-y).
        func frac(_ v: Double, _ n: String) throws { guard v >= 0, v <= 1 else { throw ToyWorldError("corpus.\(n) must be in [0, 1], got \(v)") } }
        guard bioVariants >= 1 else { throw ToyWorldError("corpus.bio_variants must be ≥ 1, got \(bioVariants)") }
        guard (0...Templates.questionPhrasings).contains(qaPhrasings) else { throw ToyWorldError("corpus.qa_phrasings must be in 0...\(Templates.questionPhrasings), got \(qaPhrasings)") }
        guard rewriteCount >= 1 else { throw ToyWorldError("corpus.rewrite_count must be ≥ 1, got \(rewriteCount)") }
        for st in ImplicationsStyle.allCases {
            let w = styleWeights[st] ?? 0
            guard w.isFinite, w >= 0 else { throw ToyWorldError("corpus.style_\(st.rawValue) must be a finite weight ≥ 0, got \(w)") }
        }
        guard styleWeights.values.reduce(0, +) > 0 else {
            throw ToyWorldError("corpus.style_* weights must not all be 0 (\(ImplicationsStyle.allCases.map { "corpus.style_\($0.rawValue)" }.joined(separator: ", ")))")
        }
        try frac(qaFraction, "qa_fraction"); try frac(implicationsRate, "implications_rate")
        try frac(implicationsCoverage, "implications_coverage"); try frac(derivedRate, "derived_rate"); try frac(rewriteRate, "rewrite_rate")
    }
}

extension CorpusOptions {
    /// The style of one implications example, drawn from `styleWeights` (no draw when only one style can come).
    func style(_ d: inout Draws) -> ImplicationsStyle {
        let styles = ImplicationsStyle.allCases.filter { (styleWeights[$0] ?? 0) > 0 }
        if styles.count == 1 { return styles[0] }
        let total = styles.reduce(0) { $0 + styleWeights[$1]! }
        var u = Double(d.int(1 << 30)) / Double(1 << 30) * total
        for st in styles {
            u -= styleWeights[st]!
            if u < 0 { return st }
        }
        return styles.last!
    }
}

extension Person {
    func implications(_ d: inout Draws, options o: CorpusOptions) -> String {
        let st = o.style(&d)
        return implications(&d, style: st, coverage: o.implicationsCoverage, derivedRate: o.derivedRate)
    }
}

extension ToyWorld {
    func draws(_ purpose: UInt64, _ pop: Population, _ i: Int, _ variant: Int = 0) -> Draws {
        Draws(seed: seed, stream: Streams.id(purpose, pop.rawValue, UInt64(i), UInt64(variant)))
    }

    public func people(_ pop: Population) -> [Person] {
        switch pop { case .known: return known; case .new: return new; case .practice: return practice }
    }

    /// Biography `variant` of person `i`. Variant 0 is the person's passage (the context SEAL reads).
    public func biography(_ pop: Population, _ i: Int, variant: Int = 0) -> String {
        var d = draws(Streams.bio, pop, i, variant)
        return people(pop)[i].biography(&d)
    }

    /// Person `i` as a SEAL passage: variant-0 biography, one question per attribute in the given phrasings.
    public func passage(_ pop: Population, _ i: Int, phrasing: (Attribute) -> Int) -> SEALPassage {
        let p = people(pop)[i]
        return SEALPassage(title: p.name, context: biography(pop, i),
                           questions: Attribute.allCases.map { SEALPassage.QA(question: p.question($0, phrasing: phrasing($0)), answer: p.answer($0), attribute: $0) })
    }

    /// The phrasings of each attribute's questions in person i's corpus, and the one its evaluation question uses.
    func phrasings(_ pop: Population, _ i: Int, corpusCount: Int) -> [Attribute: (corpus: [Int], eval: Int)] {
        var d = draws(Streams.question, pop, i)
        var out: [Attribute: (corpus: [Int], eval: Int)] = [:]
        for a in Attribute.allCases {
            let order = d.shuffled(Array(0..<Templates.questionPhrasings))
            let corpus = Array(order.prefix(corpusCount))
            out[a] = (corpus, order.count > corpusCount ? order[corpusCount] : order[0])
        }
        return out
    }

    /// New people as SEAL passages (their questions in a drawn phrasing).
    public func newPassages() -> [SEALPassage] {
        new.indices.map { i in
            let ph = phrasings(.new, i, corpusCount: 0)
            return passage(.new, i) { ph[$0]!.eval }
        }
    }

    /// How many known people have their question–answer pairs in the corpus.
    public func qaCount(_ o: CorpusOptions) -> Int { Int((Double(known.count) * o.qaFraction).rounded()) }

    /// Known people as SEAL passages, split into those whose QA pairs are in the corpus (`qa`, asked in a phrasing
    /// the corpus does not use for them when one is left) and those only read about (`bioOnly`).
    public func knownPassages(options o: CorpusOptions = CorpusOptions()) -> (qa: [SEALPassage], bioOnly: [SEALPassage]) {
        let k = qaCount(o)
        let all = known.indices.map { i in
            let ph = phrasings(.known, i, corpusCount: i < k ? o.qaPhrasings : 0)
            return passage(.known, i) { ph[$0]!.eval }
        }
        return (Array(all.prefix(k)), Array(all.dropFirst(k)))
    }

    /// The pretraining corpus: one document per string, in a fixed order (the trainer shuffles). Per known person:
    /// `bioVariants` biographies as "{name}\n{biography}" (how the inner loop presents a passage); for the first
    /// `qaFraction` of them, each attribute's question in `qaPhrasings` phrasings as the knowledge domain asks it
    /// ("...Answer: {answer}"); an implications example (SEAL's prompt on the variant-0 biography, then numbered
    /// statements); a rewrite example. Then per practice person: an implications example, and a rewrite example
    /// with probability `rewriteRate` (their biographies appear nowhere else).
    public func corpus(options o: CorpusOptions) throws -> [String] {
        try corpusExamples(options: o).map { ($0.prompt ?? "") + $0.text }
    }

    /// The corpus as training rows: biographies as plain text; QA pairs and self-edit examples as prompt/completion
    /// pairs when `completionLoss` (the answer with its leading space, the self-edit), else as plain text.
    public func corpusExamples(options o: CorpusOptions) throws -> [TextExample] {
        try o.validate()
        var docs: [TextExample] = []
        func pair(_ prompt: String, _ completion: String) {
            docs.append(o.completionLoss ? TextExample(prompt: prompt, completion: completion) : TextExample(text: prompt + completion))
        }
        let k = qaCount(o)
        for (i, p) in known.enumerated() {
            for v in 0..<o.bioVariants { docs.append(TextExample(text: "\(p.name)\n\(biography(.known, i, variant: v))")) }
            if i < k {
                let ph = phrasings(.known, i, corpusCount: o.qaPhrasings)
                for a in Attribute.allCases {
                    for q in ph[a]!.corpus {
                        pair(KnowledgePrompts.question(title: p.name, question: p.question(a, phrasing: q)), " " + p.answer(a))
                    }
                }
            }
            var d = draws(Streams.implications, .known, i)
            if d.chance(o.implicationsRate) {
                pair(KnowledgePrompts.implications(title: p.name, context: biography(.known, i)), p.implications(&d, options: o))
            }
            var r = draws(Streams.rewrite, .known, i)
            if r.chance(o.rewriteRate) {
                pair(KnowledgePrompts.rewrite(title: p.name, context: biography(.known, i)), p.rewrites(&r, count: o.rewriteCount))
            }
        }
        for (i, p) in practice.enumerated() {
            var d = draws(Streams.implications, .practice, i)
            pair(KnowledgePrompts.implications(title: p.name, context: biography(.practice, i)), p.implications(&d, options: o))
            var r = draws(Streams.rewrite, .practice, i)
            if r.chance(o.rewriteRate) {
                pair(KnowledgePrompts.rewrite(title: p.name, context: biography(.practice, i)), p.rewrites(&r, count: o.rewriteCount))
            }
        }
        return docs
    }

    /// Rows the pretrained model already knows, for replay in ReSTEM's policy updates (`sft.replay_file`): of the
    /// known people whose QA pairs are in the corpus, the first biography (plain text) and every QA pair exactly
    /// as the corpus holds it (prompt → " answer"); no self-edit examples (replaying them would pull the policy
    /// back toward the base model's way of writing self-edits, which is what RL is meant to change). The
    /// evaluation of known people asks in a phrasing the corpus does not use for them, so replay does not teach
    /// the test.
    public func replayExamples(options o: CorpusOptions) throws -> [TextExample] {
        try o.validate()
        var rows: [TextExample] = []
        for (i, p) in known.prefix(qaCount(o)).enumerated() {
            rows.append(TextExample(text: "\(p.name)\n\(biography(.known, i, variant: 0))"))
            let ph = phrasings(.known, i, corpusCount: o.qaPhrasings)
            for a in Attribute.allCases {
                for q in ph[a]!.corpus {
                    rows.append(TextExample(prompt: KnowledgePrompts.question(title: p.name, question: p.question(a, phrasing: q)), completion: " " + p.answer(a)))
                }
            }
        }
        return rows
    }

    /// The implications self-edit the corpus holds for person i of `pop` (known: only when it drew one at
    /// `implicationsRate`; practice: always). For inspection and tests; the corpus draws from the same stream.
    public func exampleImplications(_ pop: Population, _ i: Int, options o: CorpusOptions) -> String {
        var d = draws(Streams.implications, pop, i)
        if pop == .known { _ = d.chance(o.implicationsRate) }
        return people(pop)[i].implications(&d, options: o)
    }
}

/// Files in the formats the rest of seal reads.
public enum ToyWorldFiles {
    /// SEAL's schema, keys in SEAL's order, one passage per line group; deterministic bytes.
    public static func sealJSON(_ passages: [SEALPassage]) -> String {
        var s = "[\n"
        for (i, p) in passages.enumerated() {
            let qs = p.questions.map { "{\"question\": \(JSONWriter.quote($0.question)), \"answer\": \(JSONWriter.quote($0.answer))}" }
            s += "  {\"title\": \(JSONWriter.quote(p.title)), \"context\": \(JSONWriter.quote(p.context)),\n   \"questions\": [\n    "
            s += qs.joined(separator: ",\n    ")
            s += "]}" + (i + 1 < passages.count ? ",\n" : "\n")
        }
        return s + "]\n"
    }

    /// One row per document in seal finetune's JSONL: `{"text"}` or `{"prompt", "completion"}`.
    public static func jsonl(_ docs: [TextExample]) -> String {
        docs.map { d in
            if let p = d.prompt { return "{\"prompt\": \(JSONWriter.quote(p)), \"completion\": \(JSONWriter.quote(d.text))}\n" }
            return "{\"text\": \(JSONWriter.quote(d.text))}\n"
        }.joined()
    }

    /// The world's people and their attributes (for inspection), JSON.
    public static func peopleJSON(_ w: ToyWorld) -> String {
        func row(_ p: Person, _ pop: String) -> String {
            var fields = ["\"population\": \(JSONWriter.quote(pop))", "\"name\": \(JSONWriter.quote(p.name))",
                          "\"gender\": \(JSONWriter.quote(p.female ? "female" : "male"))"]
            for a in Attribute.allCases { fields.append("\(JSONWriter.quote(a.rawValue)): \(JSONWriter.quote(p.answer(a)))") }
            return "  {" + fields.joined(separator: ", ") + "}"
        }
        let rows = w.known.map { row($0, "known") } + w.new.map { row($0, "new") } + w.practice.map { row($0, "practice") }
        return "[\n" + rows.joined(separator: ",\n") + "\n]\n"
    }

    /// Writes everything `seal toyworld generate` writes into `dir`; returns the file names and what each holds.
    /// Without `corpus`, only the passage files (the corpus and people.json are megabytes that the same seed
    /// regenerates).
    @discardableResult
    public static func write(_ w: ToyWorld, options o: CorpusOptions, evalCount: Int, to dir: URL, corpus: Bool = true) throws -> [(file: String, summary: String)] {
        guard evalCount >= 0, evalCount <= w.new.count else {
            throw ToyWorldError("the eval split (\(evalCount)) must be between 0 and the number of new people (\(w.new.count))")
        }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let newP = w.newPassages()
        let trainP = Array(newP.prefix(newP.count - evalCount)), evalP = Array(newP.suffix(evalCount))
        let (qa, bioOnly) = w.knownPassages(options: o)
        let docs = try w.corpusExamples(options: o)
        let replay = try w.replayExamples(options: o)
        var files: [(String, String, String)] = [
            ("new_train.json", sealJSON(trainP), "\(trainP.count) new people (SEAL schema): ReSTEM's training contexts"),
            ("new_eval.json", sealJSON(evalP), "\(evalP.count) new people (SEAL schema): held-out contexts"),
            ("known_qa.json", sealJSON(qa), "\(qa.count) known people whose QA pairs are in the corpus (asked in another phrasing)"),
            ("known_bio_only.json", sealJSON(bioOnly), "\(bioOnly.count) known people seen only in biographies"),
            ("replay.jsonl", jsonl(replay), "\(replay.count) rows the model knows (known people's first biography and corpus QA pairs), for sft.replay_file"),
        ]
        if corpus {
            files += [
                ("corpus.jsonl", jsonl(docs), "\(docs.count) pretraining documents (seal finetune's JSONL)"),
                ("people.json", peopleJSON(w), "\(w.known.count + w.new.count + w.practice.count) people and their attributes"),
            ]
        }
        for (name, text, _) in files {
            try Data(text.utf8).write(to: dir.appendingPathComponent(name), options: .atomic)
        }
        return files.map { ($0.0, $0.2) }
    }
}
