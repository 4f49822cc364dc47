import Foundation
import SealCore
import XCTest
import SealEngine
import SealKnowledge

/// Self-edit → training sequences against SEAL's rule restated in Python (scripts/fixtures/make_self_edit_fixtures.py):
/// every passage × completion of SEAL's evaluation files (13,250 completions plus naive_val's empty ones), both
/// with and without line splitting, compared by hash; hand-written edge cases compared in full; and the sequence
/// counts SEAL's own CPT runs recorded. Strings are compared as UTF-8 bytes (Swift's == folds canonically
/// equivalent text, which the reference does not).
final class SelfEditSequenceTests: XCTestCase {
    nonisolated(unsafe) static let fixture: [String: Any] = {
        let data = try! Data(contentsOf: Shared.fixtures.appendingPathComponent("self_edit_sequences.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static func fnv(_ bytes: [UInt8]) -> UInt64 { fnv1a64(bytes) }

    /// A passage's bytes as the fixture hashes them: each sequence's UTF-8 then 0x00; 0x01 after each completion.
    static func passageBytes(_ lists: [[String]]) -> [UInt8] {
        var out: [UInt8] = []
        for seqs in lists {
            for s in seqs { out += Array(s.utf8); out.append(0) }
            out.append(1)
        }
        return out
    }

    func testEdgeCasesEqualPythonRestatement() throws {
        let cases = Self.fixture["cases"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(cases.count, 20)
        for (i, c) in cases.enumerated() {
            let title = c["title"] as! String, context = c["context"] as! String, completion = c["completion"] as! String
            for (key, split) in [("split_lines", true), ("whole", false)] {
                let got = try SelfEditRules(splitLines: split).sequences(selfEdit: completion, title: title, context: context)
                let want = c[key] as! [String]
                XCTAssertEqual(got.map { Array($0.utf8) }, want.map { Array($0.utf8) }, "case \(i) \(key): \(completion.debugDescription) gave \(got.debugDescription), Python \(want.debugDescription)")
            }
        }
    }

    func testSEALsCompletionsEqualPythonRestatement() throws {
        let files = Self.fixture["files"] as! [[String: Any]]
        XCTAssertEqual(files.count, 14)
        var completions = 0
        for f in files {
            let name = f["file"] as! String
            let file = try SelfEditFile(path: Shared.synthetic(name))
            XCTAssertEqual(file.entries.count, f["passages"] as! Int, name)
            completions += file.entries.reduce(0) { $0 + $1.completions.count }
            for (key, split) in [("split_lines", true), ("whole", false)] {
                let rules = SelfEditRules(splitLines: split)
                let want = f[key] as! [String: Any]
                let hashes = want["passages"] as! [String]
                var all: [UInt8] = [], count = 0, reported = false
                for (i, e) in file.entries.enumerated() {
                    let lists = try e.completions.map { try rules.sequences(selfEdit: $0, title: e.title, context: e.context) }
                    count += lists.reduce(0) { $0 + $1.count }
                    let bytes = Self.passageBytes(lists)
                    all += bytes
                    let h = String(format: "%08llx", Self.fnv(bytes) & 0xFFFF_FFFF)
                    if h != hashes[i] && !reported {
                        XCTFail("\(name) \(key): passage \(i) ('\(e.title)') differs from the Python rule; seal gives \(lists.debugDescription)")
                        reported = true
                    }
                }
                XCTAssertEqual(count, want["sequences"] as! Int, "\(name) \(key): number of sequences")
                XCTAssertEqual(String(format: "%016llx", Self.fnv(all)), want["hash_all"] as! String, "\(name) \(key)")
            }
        }
        XCTAssertEqual(completions, 13_250 + 1_250, "every evaluation completion, and naive_val's empty ones")
    }

    /// SEAL's CPT runs recorded how many sequences they trained on (results/cpt/*.json, `train_sequences`): the
    /// first 200 passages, up to k non-empty completions each (none left: one empty one), without line splitting.
    /// A check against the reference's own output, independent of the Python restatement.
    func testSequenceCountsOfSEALsCPTRuns() throws {
        for (run, data) in [("cpt_base", "base_val"), ("cpt_gpt4_1", "gpt4_1_val"), ("cpt_iter2", "iter2_val"), ("cpt_naive", "naive_val")] {
            let result = try JSONSerialization.jsonObject(with: Data(contentsOf: Shared.knowledge.appendingPathComponent("results/cpt/\(run).json"))) as! [String: Any]
            XCTAssertEqual(result["split_newlines"] as? Bool, false, run)
            let n = result["n_articles"] as! Int, k = result["k_completions"] as! Int
            let file = try SelfEditFile(path: Shared.synthetic("eval/\(data).json"))
            let rules = SelfEditRules(splitLines: false)
            var count = 0
            for e in file.entries.prefix(n) {
                var comps = k == 0 ? [""] : Array(e.completions.filter { !SelfEditRules.isEmpty($0) }.prefix(k))
                if comps.isEmpty { comps = [""] }
                for c in comps { count += try rules.sequences(selfEdit: c, title: e.title, context: e.context).count }
            }
            XCTAssertEqual(count, result["train_sequences"] as! Int, run)
        }
    }

    /// SEAL's rule on the shapes its prompts produce (readable versions of what the fixture checks by hash).
    func testRuleOnEachPromptsShape() throws {
        let rules = SelfEditRules()
        XCTAssertEqual(try rules.sequences(selfEdit: "Here are the implications:\n1. A is B.\n2. C is D.\n---\nE is F.", title: "T", context: "ctx"),
                       ["T\n1. A is B.", "T\n2. C is D.", "T\nE is F.", "T\nctx"])
        // The preamble rule looks at the second line of the whole list only, and drops the first whatever it is.
        XCTAssertEqual(try rules.sequences(selfEdit: "1. first\n1. again", title: "T", context: "c"), ["T\n1. again", "T\nc"])
        XCTAssertEqual(try rules.sequences(selfEdit: "A\n---\nB\n1. C", title: "T", context: "c"), ["T\nA", "T\nB", "T\n1. C", "T\nc"])
        // Self-QA: the prompt ends with "Question 1: ", so the first question is re-labelled; pieces keep their lines.
        XCTAssertEqual(try rules.sequences(selfEdit: "Who?\nAnswer: Ann\nQuestion 2: When?\nAnswer: 1900", title: "T", context: "c"),
                       ["T\nQuestion 1: Who?\nAnswer: Ann", "T\nQuestion 2: When?\nAnswer: 1900", "T\nc"])
        // Without line splitting: one sequence per '---' segment.
        XCTAssertEqual(try SelfEditRules(splitLines: false).sequences(selfEdit: "a\nb\n---\nc", title: "T", context: "c "), ["T\na\nb", "T\nc", "T\nc"])
        // '---' alone is not empty: the reference's fallback trains on the stripped text itself.
        XCTAssertEqual(try rules.sequences(selfEdit: " \n---\n ", title: "T", context: "c"), ["T\n---", "T\nc"])
        XCTAssertFalse(SelfEditRules.isEmpty(" --- "))
        XCTAssertTrue(SelfEditRules.isEmpty(" \n\t\u{3000}\u{85}"))
    }

    /// An empty self-edit is data: each policy does what the SEAL script it names does, and only `invalid` makes it
    /// unusable (reward 0, recorded by the engine).
    func testEmptySelfEditPolicies() throws {
        let context = "Line one.\nLine two."
        for empty in ["", "  \n\t "] {
            XCTAssertEqual(try SelfEditRules(empty: .train).sequences(selfEdit: empty, title: "T", context: context), ["T\n" + context])
            XCTAssertEqual(try SelfEditRules(splitLines: false, empty: .train).sequences(selfEdit: empty, title: "T", context: context), ["T\n", "T\n" + context])
            XCTAssertEqual(try SelfEditRules(empty: .context).sequences(selfEdit: empty, title: "T", context: context), ["T\nLine one.", "T\nLine two.", "T\n" + context])
            XCTAssertThrowsError(try SelfEditRules(empty: .invalid).sequences(selfEdit: empty, title: "T", context: context)) { e in
                XCTAssertTrue(e is InvalidSelfEdit, "\(e)")
                XCTAssertTrue("\(e)".contains("empty self-edit") && "\(e)".contains("knowledge.empty_self_edit"), "\(e)")
            }
        }
        // A non-empty self-edit is never affected by the policy.
        XCTAssertEqual(try SelfEditRules(empty: .invalid).sequences(selfEdit: "x", title: "T", context: context), ["T\nx", "T\n" + context])
    }

    /// The domain reads knowledge.empty_self_edit and knowledge.split_lines into its inner-loop plans.
    func testDomainPlansFollowTheConfig() throws {
        let schema = EngineConfig.schema + KnowledgeDomain.schema
        func domain(_ extra: [String]) throws -> KnowledgeDomain {
            try KnowledgeDomain(config: try ResolvedConfig.resolve(schema: schema, file: nil, overrides: [
                "knowledge.eval_file=\"\(Shared.squad)\"", "knowledge.eval_count=1"] + extra))
        }
        let d = try domain([])
        let id = try d.contexts(split: "eval")[0].id
        let p = d.passages(split: "eval")[0]
        XCTAssertEqual(try d.innerLoopPlan(contextID: id, selfEdit: "").rows.map(\.text), ["\(p.title)\n\(p.context)"])
        XCTAssertEqual(try d.contextOnlyPlan(contextID: id)!.rows.map(\.text), ["\(p.title)\n\(p.context)"])
        XCTAssertEqual(try d.innerLoopPlan(contextID: id, selfEdit: "Intro:\n1. a\n2. b").rows.map(\.text), ["\(p.title)\n1. a", "\(p.title)\n2. b", "\(p.title)\n\(p.context)"])
        let whole = try domain(["knowledge.split_lines=false"])
        XCTAssertEqual(try whole.innerLoopPlan(contextID: id, selfEdit: "Intro:\n1. a").rows.map(\.text), ["\(p.title)\nIntro:\n1. a", "\(p.title)\n\(p.context)"])
        XCTAssertFalse(try d.innerLoopPlan(contextID: id, selfEdit: "x").appendEOS)
        let eos = try domain(["knowledge.end_with_eos=true"])
        XCTAssertTrue(try eos.innerLoopPlan(contextID: id, selfEdit: "x").appendEOS)
        XCTAssertTrue(try eos.contextOnlyPlan(contextID: id)!.appendEOS)
        let invalid = try domain(["knowledge.empty_self_edit=\"invalid\""])
        XCTAssertThrowsError(try invalid.innerLoopPlan(contextID: id, selfEdit: " ")) { XCTAssertTrue($0 is InvalidSelfEdit) }
        XCTAssertThrowsError(try domain(["knowledge.empty_self_edit=\"skip\""])) { e in
            XCTAssertTrue("\(e)".contains("knowledge.empty_self_edit") && "\(e)".contains("skip"), "\(e)")
        }
    }
}
