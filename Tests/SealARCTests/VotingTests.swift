import Foundation
import XCTest
import SealARC

/// Voting, inference queries and grading with scripted answerers (no model): a perfect answerer solves every
/// task through all six transformations and their inverses; wrong or malformed answers do not.
final class VotingTests: XCTestCase {
    let a = Grid([[1, 2], [3, 4]])!
    let b = Grid([[5, 6], [7, 8]])!
    let c = Grid([[9]])!

    func answers(_ gs: [(Augmentation, Grid)]) -> [ARCVoting.Answer] { gs.map { ARCVoting.Answer(transform: $0.0, grid: $0.1) } }

    func testMajorityAndSecondAttempt() {
        let v = ARCVoting.vote(answers([(.identity, a), (.transpose, a), (.flip(0), a), (.flip(1), b), (.rotate(1), b), (.rotate(2), c)]))
        XCTAssertEqual(v, [a, b])
        XCTAssertEqual(ARCVoting.vote(answers([(.identity, a)]), attempts: 1), [a])
        XCTAssertEqual(ARCVoting.vote([]), [])
        // One answer only: the second attempt falls back to the row/column majority, which is the same grid.
        XCTAssertEqual(ARCVoting.vote(answers([(.identity, c)])), [c, c])
    }

    func testTieBetweenSecondAndThirdGoesToIdentity() {
        // a wins; b and c tie among the candidates and b is seen first, but the identity query said c, so c is
        // the second attempt.
        let v = ARCVoting.vote(answers([(.transpose, a), (.flip(0), a), (.flip(1), a), (.rotate(1), b), (.identity, c), (.rotate(2), a)]))
        XCTAssertEqual(v.first, a)
        XCTAssertEqual(v.count, 2)
        XCTAssertEqual(v[1], c)
    }

    func testRowMajority() {
        // Three different 2x2 answers; row 0 is mostly [1 2], row 1 mostly [3 4].
        let g1 = Grid([[1, 2], [0, 0]])!, g2 = Grid([[1, 2], [3, 4]])!, g3 = Grid([[9, 9], [3, 4]])!
        XCTAssertEqual(ARCVoting.lineMajority([g1, g2, g3], transpose: false), g2)
        XCTAssertEqual(ARCVoting.topThree([g1]), [g1, g1, g1])
        XCTAssertEqual(ARCVoting.topThree([g1, g1, g3]), [g1, g3, Grid([[1, 2], [0, 0]])!])
    }

    /// A domain-free check of queries + grading: an answerer that knows the true output and answers in the
    /// query's frame (the output under the query's transformation).
    func testPerfectAnswererSolvesThroughInverses() throws {
        for id in ["ce8d95cc", "b1fc8b8e", "8d5021e8", "4be741c5"] {
            let t = ARCTestData.task(id)
            var count = 0
            var attempts: [[Grid]] = []
            for k in t.test.indices {
                let qs = ARCVoting.queries(t, test: k)
                XCTAssertEqual(qs.map(\.transform), ARCVoting.transforms)
                for q in qs {
                    XCTAssertEqual(q.input, q.transform.apply(t.test[k].input))
                    XCTAssertEqual(q.demos.map(\.output), t.train.map { q.transform.apply($0.output) })
                }
                let answers = qs.map { q in ARCVoting.Answer(transform: q.transform, grid: q.transform.invert(q.transform.apply(t.test[k].output!))!) }
                count += answers.count
                attempts.append(ARCVoting.vote(answers))
            }
            XCTAssertTrue(ARCVoting.solved(t, attempts: attempts), id)
            XCTAssertEqual(count, 6 * t.test.count)
            // One test output wrong: not solved (b1fc8b8e has two test inputs).
            if t.test.count > 1 {
                var wrong = attempts
                wrong[1] = [c, c]
                XCTAssertFalse(ARCVoting.solved(t, attempts: wrong))
            }
            XCTAssertFalse(ARCVoting.solved(t, attempts: []))
        }
    }
}
