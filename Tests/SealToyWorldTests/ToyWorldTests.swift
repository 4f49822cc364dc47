import Foundation
import SealCore
import XCTest
import SealKnowledge
import SealTrain
import SealTestSupport
import SealToyWorld

/// 64-bit FNV-1a: a platform-independent fingerprint of generated text.
func fnv1a(_ s: String) -> UInt64 { fnv1a64(s.utf8) }

final class ToyWorldTests: XCTestCase {
    let opts = CorpusOptions()

    func testSameSeedSameWorldOtherSeedOtherWorld() throws {
        let a = try ToyWorld(seed: 7, known: 60, new: 20), b = try ToyWorld(seed: 7, known: 60, new: 20)
        XCTAssertEqual(a.known, b.known)
        XCTAssertEqual(a.new, b.new)
        XCTAssertEqual(try a.corpus(options: opts), try b.corpus(options: opts))
        XCTAssertEqual(ToyWorldFiles.sealJSON(a.newPassages()), ToyWorldFiles.sealJSON(b.newPassages()))
        let c = try ToyWorld(seed: 8, known: 60, new: 20)
        XCTAssertNotEqual(a.known.map(\.name), c.known.map(\.name))
        XCTAssertNotEqual(try a.corpus(options: opts), try c.corpus(options: opts))
        // A person's passage does not depend on how many people come after them.
        let d = try ToyWorld(seed: 7, known: 80, new: 0)
        XCTAssertEqual(Array(d.known.prefix(60)), a.known)
        let e = try ToyWorld(seed: 7, known: 60, new: 20, practice: 30)
        XCTAssertEqual(e.new, a.new, "practice people are drawn after the new ones")
        XCTAssertEqual(d.biography(.known, 5, variant: 2), a.biography(.known, 5, variant: 2))
    }

    /// The exact bytes of a small world, pinned: the generator uses integer draws from the counter-based RNG only,
    /// so any platform must produce these (a change of templates or pools changes them on purpose: update here).
    /// The partial-only corpus is pinned to the bytes it had before styles existed; the default (styles) corpus to
    /// its own.
    func testPinnedFingerprint() throws {
        let w = try ToyWorld(seed: 0, known: 12, new: 4, practice: 6)
        var partial = opts
        partial.styleWeights = [.partial: 1]
        let styles = try w.corpus(options: opts).joined(separator: "\u{1}")
        XCTAssertEqual(String(fnv1a(styles), radix: 16), ToyWorldTests.pinnedStylesCorpus)
        let corpus = try w.corpus(options: partial).joined(separator: "\u{1}")
        let passages = ToyWorldFiles.sealJSON(w.newPassages())
        print("fingerprint corpus \(String(fnv1a(corpus), radix: 16)) passages \(String(fnv1a(passages), radix: 16)); first: \(w.known[0].name): \(w.biography(.known, 0))")
        XCTAssertEqual(String(fnv1a(corpus), radix: 16), ToyWorldTests.pinnedCorpus)
        XCTAssertEqual(String(fnv1a(passages), radix: 16), ToyWorldTests.pinnedPassages)
    }
    static let pinnedCorpus = "eee41daaec091642"
    static let pinnedStylesCorpus = "6add39b2e07c3c14"
    static let pinnedPassages = "c3b1c8386ff1fb8e"

    func testNamesAreUniqueAcrossBothPopulations() throws {
        let w = try ToyWorld(seed: 3, known: 2000, new: 400, practice: 1000)
        let names = (w.known + w.new + w.practice).map(\.name)
        XCTAssertEqual(Set(names).count, names.count)
        XCTAssertThrowsError(try ToyWorld(seed: 0, known: ToyWorld.nameCapacity, new: 0)) { e in
            XCTAssertTrue("\(e)".contains("name pools"), "\(e)")
        }
        XCTAssertThrowsError(try ToyWorld(seed: 0, known: -1, new: 0))
    }

    /// Every question's gold answer is in every biography of its person (verbatim and after the grader's
    /// normalisation), and every question names its person.
    func testEveryAnswerIsInEveryBiography() throws {
        let w = try ToyWorld(seed: 11, known: 150, new: 50, practice: 50)
        for pop in [Population.known, .new, .practice] {
            for (i, p) in w.people(pop).enumerated() {
                for v in 0..<4 {
                    let bio = w.biography(pop, i, variant: v)
                    XCTAssertTrue(bio.contains(p.name), bio)
                    for a in Attribute.allCases {
                        XCTAssertTrue(bio.contains(p.answer(a)), "\(a) '\(p.answer(a))' not in: \(bio)")
                        XCTAssertTrue(AnswerGrader.isCorrect(prediction: bio, gold: p.answer(a)))
                        for k in 0..<Person.questionPhrasings {
                            let q = p.question(a, phrasing: k)
                            XCTAssertTrue(q.contains(p.name) && q.hasSuffix("?"), q)
                        }
                    }
                }
            }
        }
    }

    func testBiographiesVaryInOrderAndWording() throws {
        let w = try ToyWorld(seed: 5, known: 40, new: 0)
        var firstWords = Set<String>(), distinct = 0
        for i in 0..<40 {
            let vs = (0..<3).map { w.biography(.known, i, variant: $0) }
            distinct += Set(vs).count
            for v in vs { firstWords.insert(String(v.split(separator: " ").dropFirst(2).first ?? "")) }
        }
        XCTAssertEqual(distinct, 120, "variants of a person should differ")
        XCTAssertGreaterThan(firstWords.count, 5, "sentence openings should vary: \(firstWords)")
    }

    func testPassagesHaveOneQuestionPerAttribute() throws {
        let w = try ToyWorld(seed: 2, known: 30, new: 30)
        for (i, p) in w.newPassages().enumerated() {
            XCTAssertEqual(p.title, w.new[i].name)
            XCTAssertEqual(p.context, w.biography(.new, i))
            XCTAssertEqual(p.questions.map(\.attribute), Attribute.allCases)
            for q in p.questions { XCTAssertEqual(q.answer, w.new[i].answer(q.attribute!)) }
        }
        let (qa, bio) = w.knownPassages(options: opts)
        XCTAssertEqual(qa.count, 15)
        XCTAssertEqual(bio.count, 15)
    }

    /// The corpus never mentions a new person; it holds the known people's QA pairs in the knowledge domain's exact
    /// question prompt, and self-edit examples in its exact implications and rewrite prompts.
    func testCorpusFormatsAndNoLeak() throws {
        let w = try ToyWorld(seed: 4, known: 80, new: 40, practice: 50)
        let docs = try w.corpus(options: opts)
        let all = docs.joined(separator: "\n")
        for p in w.new { XCTAssertFalse(all.contains(p.name), "new person \(p.name) leaked into the corpus") }
        XCTAssertTrue(all.contains(w.practice[0].name))
        let k = w.qaCount(opts)
        XCTAssertEqual(k, 40)
        // QA: the first k people, every attribute, `qaPhrasings` phrasings each.
        let qaDocs = docs.filter { $0.hasPrefix("Let's answer a question directly and concisely.\nQuestion: Topic: ") }
        XCTAssertEqual(qaDocs.count, k * Attribute.allCases.count * opts.qaPhrasings)
        for p in w.known.prefix(k) {
            for a in Attribute.allCases {
                let candidates = (0..<Person.questionPhrasings).map { KnowledgePrompts.question(title: p.name, question: p.question(a, phrasing: $0)) + " " + p.answer(a) }
                XCTAssertEqual(candidates.filter { docs.contains($0) }.count, opts.qaPhrasings, "\(p.name) \(a)")
            }
        }
        for p in w.known.dropFirst(k) { XCTAssertFalse(qaDocs.contains { $0.contains("Topic: \(p.name)\n") }, "\(p.name) should have no QA") }
        // Implications: SEAL's prompt on the variant-0 biography, then numbered lines naming the person; every
        // practice person has one, about a quarter of the known people do.
        let imp = docs.filter { $0.hasPrefix("Let's read the following passage and produce a list of implications") }
        var known = 0, practice = 0
        for pop in [Population.known, .practice] {
            for (i, p) in w.people(pop).enumerated() {
                let prompt = KnowledgePrompts.implications(title: p.name, context: w.biography(pop, i))
                let found = imp.filter { $0.hasPrefix(prompt) }
                XCTAssertLessThanOrEqual(found.count, 1)
                guard let d = found.first else { continue }
                if pop == .known { known += 1 } else { practice += 1 }
                let completion = String(d.dropFirst(prompt.count))
                XCTAssertEqual(completion, w.exampleImplications(pop, i, options: opts))
                let lines = completion.split(separator: "\n")
                XCTAssertFalse(lines.isEmpty)
                for (j, l) in lines.enumerated() {
                    XCTAssertTrue(l.hasPrefix("\(j + 1). "), String(l))
                    XCTAssertTrue(l.contains(p.name), String(l))
                }
                // The self-edit turns into one training sequence per line, as the knowledge domain splits it.
                let seqs = try KnowledgePrompts.sequences(selfEdit: completion, title: p.name, context: w.biography(pop, i), splitLines: true)
                XCTAssertEqual(seqs.count, lines.count + 1)
            }
        }
        XCTAssertEqual(practice, 50)
        XCTAssertEqual(known + practice, imp.count)
        XCTAssertGreaterThan(known, 8)
        XCTAssertLessThan(known, 35)
        // Practice people appear only inside self-edit examples.
        for p in w.practice {
            XCTAssertTrue(docs.filter { $0.contains(p.name) }.allSatisfy { $0.hasPrefix("Let's read the following passage") }, p.name)
        }
        // As training rows: biographies are plain text; QA pairs and self-edits are prompt/completion pairs (loss
        // on the answer and the self-edit), or plain text when completion loss is off.
        let rows = try w.corpusExamples(options: opts)
        XCTAssertEqual(rows.map { ($0.prompt ?? "") + $0.text }, docs)
        XCTAssertEqual(rows.filter { $0.prompt == nil }.count, 80 * opts.bioVariants)
        for r in rows where r.prompt?.hasPrefix("Let's answer") == true { XCTAssertTrue(r.prompt!.hasSuffix("\nAnswer:") && r.text.hasPrefix(" "), r.text) }
        for r in rows where r.prompt?.hasPrefix("Let's read") == true { XCTAssertTrue(r.prompt!.hasSuffix(":\n") && r.text.hasPrefix("1. "), r.text) }
        var plain = opts
        plain.completionLoss = false
        XCTAssertTrue(try w.corpusExamples(options: plain).allSatisfy { $0.prompt == nil })
        XCTAssertEqual(try w.corpus(options: plain), docs)
        let rw = docs.filter { $0.hasPrefix("Let's read the following passage and rewrite it in a few different ways") }
        XCTAssertGreaterThan(rw.count, 10)
        XCTAssertLessThan(rw.count, 65)
    }

    /// Coverage below 1 leaves facts out of the implications examples; coverage 1 states them all.
    func testImplicationsCoverage() throws {
        let w = try ToyWorld(seed: 9, known: 0, new: 0, practice: 200)
        func mean(_ o: CorpusOptions) -> Double {
            let fr = w.practice.indices.map { i -> Double in
                let s = w.exampleImplications(.practice, i, options: o)
                return Double(Attribute.allCases.filter { s.contains(w.practice[i].answer($0)) }.count) / Double(Attribute.allCases.count)
            }
            return fr.reduce(0, +) / Double(fr.count)
        }
        var o = opts
        o.styleWeights = [.partial: 1]
        o.implicationsCoverage = 1
        XCTAssertEqual(mean(o), 1)
        o.implicationsCoverage = 0.5
        let m = mean(o)
        XCTAssertGreaterThan(m, 0.45)
        XCTAssertLessThan(m, 0.7)
    }

    /// The styles of implications examples: complete states every fact, sparse one or two, wrong every attribute
    /// with some false values, chatter none; a mixture draws them near their weights; one style alone draws nothing
    /// (a partial-only corpus is the corpus from before styles existed); bad weights name their key.
    func testImplicationsStyles() throws {
        let w = try ToyWorld(seed: 9, known: 0, new: 0, practice: 400)
        func facts(_ s: String, _ p: Person) -> Int { Attribute.allCases.filter { s.contains(p.answer($0)) }.count }
        func only(_ st: ImplicationsStyle) -> CorpusOptions { var o = opts; o.styleWeights = [st: 1]; return o }
        for (i, p) in w.practice.enumerated().prefix(100) {
            XCTAssertEqual(facts(w.exampleImplications(.practice, i, options: only(.complete)), p), 7)
            let sparse = w.exampleImplications(.practice, i, options: only(.sparse))
            // One or two lines, one fact each (a line may hold another answer too: "Calderon State University"
            // contains the city Calderon).
            XCTAssertTrue(facts(sparse, p) >= 1 && (1...2).contains(sparse.split(separator: "\n").count), sparse)
            let chatter = w.exampleImplications(.practice, i, options: only(.chatter))
            XCTAssertEqual(facts(chatter, p), 0, chatter)
            XCTAssertTrue((2...4).contains(chatter.split(separator: "\n").count), chatter)
            let wrong = w.exampleImplications(.practice, i, options: only(.wrong))
            XCTAssertEqual(wrong.split(separator: "\n").count, 7, wrong)
        }
        // Wrong notes: about half of the facts false.
        let wrongShare = w.practice.indices.map { 7 - facts(w.exampleImplications(.practice, $0, options: only(.wrong)), w.practice[$0]) }.reduce(0, +)
        XCTAssertGreaterThan(Double(wrongShare) / Double(7 * w.practice.count), 0.35)
        XCTAssertLessThan(Double(wrongShare) / Double(7 * w.practice.count), 0.65)
        // The mixture: chatter (no fact) at its weight.
        var mix = opts
        mix.styleWeights = [.complete: 0.5, .chatter: 0.5]
        let none = w.practice.indices.filter { facts(w.exampleImplications(.practice, $0, options: mix), w.practice[$0]) == 0 }.count
        XCTAssertGreaterThan(none, 150); XCTAssertLessThan(none, 250)
        // One style: no style draw, so a partial-only corpus is the corpus from before styles (its first practice
        // person's example, as the committed model's README printed it for seed 0).
        let w0 = try ToyWorld(seed: 0, known: 400, new: 200, practice: 1200)
        let partial0 = w0.exampleImplications(.practice, 0, options: only(.partial))
        var d0 = opts; d0.styleWeights = [.partial: 2]
        XCTAssertEqual(w0.exampleImplications(.practice, 0, options: d0), partial0)
        XCTAssertNotEqual(w0.exampleImplications(.practice, 0, options: only(.complete)), partial0)
        var bad = opts
        bad.styleWeights = [.partial: 0, .complete: 0]
        XCTAssertThrowsError(try w.corpus(options: bad)) { XCTAssertTrue("\($0)".contains("corpus.style_"), "\($0)") }
        bad.styleWeights = [.partial: 1, .wrong: -1]
        XCTAssertThrowsError(try w.corpus(options: bad)) { XCTAssertTrue("\($0)".contains("corpus.style_wrong"), "\($0)") }
    }

    func testFilesLoadAsSEALSchema() throws {
        let w = try ToyWorld(seed: 1, known: 20, new: 10)
        let dir = scratchRoot.appendingPathComponent("toyworld-files-\(UUID().uuidString)")
        let written = try ToyWorldFiles.write(w, options: opts, evalCount: 4, to: dir)
        XCTAssertEqual(written.map(\.file), ["new_train.json", "new_eval.json", "known_qa.json", "known_bio_only.json", "replay.jsonl", "corpus.jsonl", "people.json"])
        let train = try KnowledgeData.loadSEAL(dir.appendingPathComponent("new_train.json").path)
        let eval = try KnowledgeData.loadSEAL(dir.appendingPathComponent("new_eval.json").path)
        XCTAssertEqual(train.count, 6)
        XCTAssertEqual(eval.count, 4)
        let ps = w.newPassages()
        for (i, p) in (train + eval).enumerated() {
            XCTAssertEqual(p.title, ps[i].title)
            XCTAssertEqual(p.context, ps[i].context)
            XCTAssertEqual(p.questions.map(\.question), ps[i].questions.map(\.question))
            XCTAssertEqual(p.questions.map(\.answer), ps[i].questions.map(\.answer))
        }
        // corpus.jsonl is seal finetune's JSONL, row for row the corpus.
        let rows = try Dataset.load(dir.appendingPathComponent("corpus.jsonl").path)
        XCTAssertEqual(rows, try w.corpusExamples(options: opts))
        // replay.jsonl: rows of the corpus (biographies and QA pairs of known people with QA), no self-edit examples.
        let replay = try Dataset.load(dir.appendingPathComponent("replay.jsonl").path)
        XCTAssertEqual(replay, try w.replayExamples(options: opts))
        XCTAssertEqual(replay.count, w.qaCount(opts) * (1 + 7 * opts.qaPhrasings))
        let corpusRows = Set(rows.map { ($0.prompt ?? "") + "\u{1}" + $0.text })
        XCTAssertTrue(replay.allSatisfy { corpusRows.contains(($0.prompt ?? "") + "\u{1}" + $0.text) }, "a replay row that is not in the corpus")
        XCTAssertFalse(replay.contains { ($0.prompt ?? "").hasPrefix("Let's read the following passage") }, "a self-edit example in the replay rows")
        XCTAssertTrue(replay.allSatisfy { $0.prompt == nil || !$0.text.contains("\n") }, "a replay completion is not a one-line answer")
        XCTAssertThrowsError(try ToyWorldFiles.write(w, options: opts, evalCount: 11, to: dir))
        var bad = opts
        bad.qaFraction = 1.5
        XCTAssertThrowsError(try w.corpus(options: bad)) { XCTAssertTrue("\($0)".contains("qa_fraction")) }
    }
}
