import Foundation
import SealCore
import XCTest
import SealKnowledge

/// Issue 14: the local grader's features in time linear in the answer, with the values of their plain definitions.
final class GraderSpeedTests: XCTestCase {
    // The definitions as they were (quadratic), kept as the reference.
    static func refContains(_ p: [String], _ g: [String]) -> Bool {
        guard !g.isEmpty, p.count >= g.count else { return false }
        for i in 0...(p.count - g.count) where p[i..<(i + g.count)].elementsEqual(g) { return true }
        return false
    }
    static func refTrigrams(_ ws: ArraySlice<String>) -> [UInt64: Int] {
        var s: [UInt32] = [32]
        for (k, w) in ws.enumerated() { if k > 0 { s.append(32) }; s += w.unicodeScalars.map(\.value) }
        s.append(32)
        var c: [UInt64: Int] = [:]
        if s.count >= 3 { for i in 0...(s.count - 3) { c[UInt64(s[i]) << 42 | UInt64(s[i + 1]) << 21 | UInt64(s[i + 2]), default: 0] += 1 } }
        return c
    }
    static func refDice(_ p: [String], _ g: [String]) -> Double {
        guard !g.isEmpty, !p.isEmpty else { return 0 }
        let tg = refTrigrams(g[...]), tgCount = tg.values.reduce(0, +)
        var best = 0.0
        for L in Set([max(1, g.count - 1), g.count, g.count + 1, g.count + 2]) {
            for i in 0..<max(1, p.count - L + 1) {
                let tp = refTrigrams(p[i..<min(p.count, i + L)])
                var inter = 0, total = 0
                for (k, v) in tp { total += v; if let u = tg[k] { inter += min(u, v) } }
                best = max(best, 2 * Double(inter) / Double(tgCount + total))
            }
        }
        return best
    }
    static let rambling = try! NSRegularExpression(
        pattern: #"\n\s*(Q\s*:|Question\s*:|Passage\s*:|Topic\s*:|Answer\s*:|A\s*:|Context\s*:)|Q:\s*(Passage|Context|Topic)"#)

    func testFastFeaturesEqualTheirDefinitions() {
        var rng = SystemRandomNumberGenerator()
        let vocab = ["a", "ab", "abc", "b", "ba", "cab", "é", "xyzzy", "1", "25"]
        for _ in 0..<3000 {
            let p = (0..<Int.random(in: 0...14, using: &rng)).map { _ in vocab.randomElement(using: &rng)! }
            let g = (0..<Int.random(in: 0...5, using: &rng)).map { _ in vocab.randomElement(using: &rng)! }
            XCTAssertEqual(AnswerFeatures.contains(p, g), Self.refContains(p, g), "\(p) \(g)")
            XCTAssertEqual(AnswerFeatures.bestWindowDice(p, g), Self.refDice(p, g), "\(p) \(g)")
        }
        let pieces = ["\n", " ", "\t", "\r\n", "Q", ":", "Q:", "A", "Answer", "Passage", "Topic", "Context", "Question", "x", "q"]
        for _ in 0..<5000 {
            let s = (0..<Int.random(in: 0...10, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            let ref = Self.rambling.firstMatch(in: s, range: NSRange(location: 0, length: (s as NSString).length)) != nil
            XCTAssertEqual(AnswerFeatures.rambles(s), ref, s.debugDescription)
        }
    }

    /// Recall as defined: each gold token in order takes the first untaken answer token that matches it.
    static func refRecall(_ p: [String], _ g: [String], loosely: Bool) -> Double {
        guard !g.isEmpty else { return 0 }
        var used = [Bool](repeating: false, count: p.count)
        var hit = 0
        for w in g {
            if let j = p.indices.first(where: { !used[$0] && (loosely ? AnswerFeatures.tokensMatchLoosely(w, p[$0]) : AnswerText.tokensMatch(w, p[$0])) }) {
                used[j] = true; hit += 1
            }
        }
        return Double(hit) / Double(g.count)
    }

    func testRecallEqualsItsDefinition() {
        var rng = SystemRandomNumberGenerator()
        // Prefixes, stems, near spellings and numbers, so that every kind of match and miss occurs.
        let vocab = ["symbol", "symbols", "symbolically", "sym", "planned", "plan", "tsakhiagin", "tsakhiagian", "1999", "199",
                     "the", "th", "a", "voice", "voices", "deepening", "deeper", "x"]
        for _ in 0..<3000 {
            // Golds past 32 tokens take the indexed path, shorter ones the plain scan: both against the definition.
            let p = (0..<Int.random(in: 0...60, using: &rng)).map { _ in vocab.randomElement(using: &rng)! }
            let g = (0..<Int.random(in: 0...48, using: &rng)).map { _ in vocab.randomElement(using: &rng)! }
            for loosely in [false, true] {
                XCTAssertEqual(AnswerFeatures.recall(answer: p, gold: g, loosely: loosely), Self.refRecall(p, g, loosely: loosely),
                               "\(p) \(g) loosely \(loosely)")
            }
        }
    }

    /// A long gold against a long answer (both 20k words of running text) grades in bounded time: recall was
    /// their product.
    func testLongGoldAgainstLongAnswerInBoundedTime() {
        let text = (0..<20_000).map { i in "w\(i % 1500)ord" + (i % 7 == 0 ? "s" : "") }.joined(separator: " ")
        var t0 = cpuSeconds()
        let f = AnswerFeatures.compute(question: "What?", gold: text, prediction: text)
        var took = cpuSeconds() - t0
        XCTAssertEqual(f[1], 1)
        XCTAssertLessThan(took, 10, "a 20k-word gold and answer took \(took) s")
        // The worst case for the index: 32 KB each of distinct random words (what a fuzzer writes).
        var rng = SplitMix64(seed: 3)
        func word() -> String { String((0..<Int(3 + rng.next() % 6)).map { _ in Character(UnicodeScalar(UInt8(97 + rng.next() % 26))) }) }
        let gold = (0..<5000).map { _ in word() }.joined(separator: " "), answer = (0..<5000).map { _ in word() }.joined(separator: " ")
        t0 = cpuSeconds()
        _ = AnswerFeatures.compute(question: "What?", gold: gold, prediction: answer)
        took = cpuSeconds() - t0
        print("distinct random 5000 × 5000 words: \(took) s")
        XCTAssertLessThan(took, 10, "5000 random words of gold and answer took \(took) s")
    }

    /// A 1 MB answer of each kind that was slow (words, names, a long gold, newline runs, zeros) grades in bounded time.
    func testMegabyteAnswersGradeInBoundedTime() {
        let words = (0..<130_000).map { i in String(UnicodeScalar(UInt8(97 + i % 26))) + "ord\(i % 977)" }
        let cases: [(String, String)] = [
            (words.joined(separator: " "), "Paris, France"),
            (words.map { $0.capitalized }.joined(separator: " "), "Paris"),
            (words.joined(separator: " "), words[1000..<1100].joined(separator: " ")),   // a 100-token gold
            ("x" + String(repeating: "\n", count: 1_000_000) + "x", "Paris"),
            (String(repeating: "0", count: 1_000_000) + " million", "2 million"),
            (String(repeating: "Q: ", count: 330_000), "Paris"),
        ]
        let grader = LocalGrader()
        for (p, g) in cases {
            let t0 = cpuSeconds()
            _ = grader.verdict(GradeItem(question: "Where did Tom live?", gold: g, prediction: p))
            let dt = cpuSeconds() - t0
            XCTAssertLessThan(dt, 5, "\(p.prefix(20).debugDescription)… (\(p.utf8.count) bytes), gold \(g.prefix(20)): \(dt) s")
        }
    }
}

/// CPU seconds this process has used: the bounds above are on work done, which other jobs on a shared machine
/// do not change (wall-clock time under load did; the grader is single-threaded).
func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}
