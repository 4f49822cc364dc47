import Foundation
import XCTest
import SealKernels
import SealModel

/// The forward pass against HF transformers' logits (fixtures from scripts/fixtures/make_model_fixtures.py).
///
/// Tolerance: every compared logit and log-sum-exp within 1e-4 × the largest |logit| of that text. Float32
/// products over these widths differ from PyTorch's only in summation order (≈1e-6 relative); a wrong mask, rotary
/// layout, bias or norm moves logits by far more than 1e-4 of their scale with these spread-out random weights.
final class ForwardTests: XCTestCase {
    static let tolerance = 1e-4

    func compare(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fx = try loadJSON(Repo.fixture("model/\(name).json"))
        let dir = try fixtureModelDirectory(fx)
        let model = try TransformerModel.load(directory: dir)
        let columns = (fx["columns"] as! [Int])
        let cases = fx["cases"] as! [[String: Any]]
        var worst = 0.0
        for (ci, c) in cases.enumerated() {
            let ids = (c["ids"] as! [Int]).map(Int32.init)
            let logits = try model.forward([ids])
            worst = max(worst, try check(logits, sequence: 0, expected: c, columns: columns, what: "\(name) case \(ci)"))
            // Argmax equal wherever HF's top logit is clear of the runner-up by more than the tolerance.
            let argmax = c["argmax"] as! [Int]
            let scale = c["scale"] as! Double
            for t in 0..<ids.count {
                let row = Array(logits.row(sequence: 0, position: t))
                let mine = row.indices.max { row[$0] < row[$1] }!
                if mine != argmax[t] {
                    XCTAssertLessThan(abs(Double(row[mine] - row[argmax[t]])), Self.tolerance * scale,
                                      "\(name) case \(ci) position \(t): argmax \(mine) vs HF \(argmax[t])", file: file, line: line)
                }
            }
            // NLL of each next token (what `seal score` reports).
            let nll = try model.tokenNLL(ids)
            let ref = c["nll"] as! [Double]
            XCTAssertEqual(nll.count, ref.count)
            for (a, b) in zip(nll, ref) { XCTAssertEqual(a, b, accuracy: Self.tolerance * scale, "\(name) case \(ci) nll", file: file, line: line) }
        }
        // The right-padded HF batch equals seal's packed batch at every real position.
        let batch = fx["batch"] as! [[String: Any]]
        let seqs = batch.map { ($0["ids"] as! [Int]).map(Int32.init) }
        let logits = try model.forward(seqs)
        for (b, e) in batch.enumerated() {
            worst = max(worst, try check(logits, sequence: b, expected: e, columns: columns, what: "\(name) batch row \(b)"))
        }
        print("\(name): worst |Δlogit| / scale = \(worst)")
    }

    /// Compares one sequence's logits at the fixture's columns and its log-sum-exp; returns the worst relative error.
    func check(_ logits: TransformerModel.Logits, sequence s: Int, expected: [String: Any], columns: [Int], what: String) throws -> Double {
        let values = expected["values"] as! [[Double]]
        let lse = expected["lse"] as! [Double]
        let scale = expected["scale"] as! Double
        XCTAssertEqual(logits.rowCount[s], values.count, "\(what): sequence length")
        var worst = 0.0
        for t in 0..<values.count {
            let row = Array(logits.row(sequence: s, position: t))
            for (j, col) in columns.enumerated() {
                let d = abs(Double(row[col]) - values[t][j]) / scale
                worst = max(worst, d)
                if d > Self.tolerance {
                    XCTFail("\(what) position \(t) column \(col): \(row[col]) vs HF \(values[t][j]) (scale \(scale))")
                    return worst
                }
            }
            var m = -Float.infinity
            for v in row where v > m { m = v }
            var sum = 0.0
            for v in row { sum += exp(Double(v - m)) }
            let mine = Double(m) + log(sum)
            let d = abs(mine - lse[t]) / scale
            worst = max(worst, d)
            XCTAssertLessThan(d, Self.tolerance, "\(what) position \(t): logsumexp \(mine) vs HF \(lse[t])")
        }
        return worst
    }

    func testTinyStoriesMatchesTransformers() throws { try compare("tinystories-656k") }
    func testRandomQwen2MatchesTransformers() throws { try compare("qwen2-random") }
    func testRandomLlamaMatchesTransformers() throws { try compare("llama-random") }

    /// Packing several sequences into one forward pass gives each the logits it gets alone.
    func testBatchEqualsSingle() throws {
        let model = try TransformerModel.load(directory: Repo.sharedModel("tinystories-656k"))
        let seqs: [[Int32]] = [[1, 400, 500, 600], [1, 20], [1, 7, 8, 9, 10, 11, 12, 13]]
        let batch = try model.forward(seqs)
        for (s, seq) in seqs.enumerated() {
            let one = try model.forward([seq])
            for t in 0..<seq.count {
                let a = Array(batch.row(sequence: s, position: t)), b = Array(one.row(sequence: 0, position: t))
                let worst = zip(a, b).map { abs($0 - $1) }.max()!
                XCTAssertLessThan(worst, 1e-4, "sequence \(s) position \(t): batched logits differ from single")
            }
        }
        let last = try model.forward(seqs, rows: .last)
        for (s, seq) in seqs.enumerated() {
            let a = Array(last.row(sequence: s, position: 0)), b = Array(batch.row(sequence: s, position: seq.count - 1))
            let worst = zip(a, b).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-4, "sequence \(s): last-row logits differ from the full pass")
        }
    }
}
