import XCTest
import SealKernels
import SealTestSupport

/// seal's few-row matrix product (decode steps, short training rows) against a float64 reference on shapes that
/// exercise every tail: rows not a multiple of the tile (4), weight rows not a multiple of 6, K not a multiple of 16
/// and K above the 1024 block. Each output must also be the same bits whatever batch, range split or thread count
/// computes it: that is what keeps sampled tokens independent of the batch size.
final class SkinnyGEMMTests: XCTestCase {
    func testMatchesReferenceOnEveryTail() {
        var rng = SplitMix64(seed: 3)
        func uniform() -> Float { Float(rng.unit()) * 2 - 1 }
        for (M, N, K) in [(1, 1, 1), (2, 5, 15), (3, 6, 16), (4, 7, 17), (5, 13, 100), (7, 64, 1030), (40, 20, 2100), (64, 37, 896)] {
            for accumulate in [false, true] {
                let A = (0..<M * K).map { _ in uniform() }, W = (0..<N * K).map { _ in uniform() }
                let C0 = (0..<M * N).map { _ in uniform() }
                var C = C0
                A.withUnsafeBufferPointer { a in W.withUnsafeBufferPointer { w in C.withUnsafeMutableBufferPointer { c in
                    SkinnyGEMM.multiply(c.baseAddress!, ldc: N, a.baseAddress!, lda: K, w.baseAddress!, ldw: K, M: M, N: N, K: K, accumulate: accumulate)
                } } }
                for m in 0..<M {
                    for n in 0..<N {
                        var ref = accumulate ? Double(C0[m * N + n]) : 0, scale = accumulate ? abs(Double(C0[m * N + n])) : 0
                        for k in 0..<K { ref += Double(A[m * K + k]) * Double(W[n * K + k]); scale += abs(Double(A[m * K + k]) * Double(W[n * K + k])) }
                        XCTAssertEqual(Double(C[m * N + n]), ref, accuracy: 1e-6 * scale + 1e-7, "M \(M) N \(N) K \(K) acc \(accumulate) at (\(m), \(n))")
                    }
                }
            }
        }
    }

    func testRowsDoNotDependOnBatchOrThreads() {
        var rng = SplitMix64(seed: 4)
        func uniform() -> Float { Float(rng.unit()) * 2 - 1 }
        let M = 40, N = 301, K = 1100
        let A = (0..<M * K).map { _ in uniform() }, W = (0..<N * K).map { _ in uniform() }
        func product(rows: Range<Int>, threads: Int) -> [Float] {
            let saved = Parallel.threads
            Parallel.threads = threads
            defer { Parallel.threads = saved }
            var C = [Float](repeating: 0, count: rows.count * N)
            A.withUnsafeBufferPointer { a in W.withUnsafeBufferPointer { w in C.withUnsafeMutableBufferPointer { c in
                SkinnyGEMM.multiply(c.baseAddress!, ldc: N, a.baseAddress! + rows.lowerBound * K, lda: K, w.baseAddress!, ldw: K,
                                    M: rows.count, N: N, K: K, accumulate: false)
            } } }
            return C
        }
        let all = product(rows: 0..<M, threads: 1)
        XCTAssertEqual(product(rows: 0..<M, threads: 2), all, "2 threads")
        XCTAssertEqual(product(rows: 0..<M, threads: 3), all, "3 threads")
        for r in [0, 3, 17, 39] {
            XCTAssertEqual(product(rows: r..<(r + 1), threads: 1), Array(all[r * N..<(r + 1) * N]), "row \(r) alone")
        }
        XCTAssertEqual(product(rows: 5..<12, threads: 2), Array(all[5 * N..<12 * N]), "rows 5..<12")
    }

    /// The backward form, C[M, K] (+)= A[M, N] · W[N, K] (dx = dy · W): float64 reference on every tail (rows not a
    /// multiple of 4, columns not a multiple of 16 or of the 96-column panel, N not a multiple of the 64-row block)
    /// and the same bits whatever batch or thread count computes a row.
    func testBackwardFormMatchesReferenceAndIsBatchIndependent() {
        var rng = SplitMix64(seed: 5)
        func uniform() -> Float { Float(rng.unit()) * 2 - 1 }
        for (M, N, K) in [(1, 1, 1), (2, 5, 15), (3, 64, 16), (4, 65, 17), (5, 130, 97), (7, 200, 300), (40, 20, 191), (46, 896, 128)] {
            for accumulate in [false, true] {
                let A = (0..<M * N).map { _ in uniform() }, W = (0..<N * K).map { _ in uniform() }
                let C0 = (0..<M * K).map { _ in uniform() }
                var C = C0
                A.withUnsafeBufferPointer { a in W.withUnsafeBufferPointer { w in C.withUnsafeMutableBufferPointer { c in
                    SkinnyGEMM.multiplyNN(c.baseAddress!, ldc: K, a.baseAddress!, lda: N, w.baseAddress!, ldw: K, M: M, N: N, K: K, accumulate: accumulate)
                } } }
                for m in 0..<M {
                    for k in 0..<K {
                        var ref = accumulate ? Double(C0[m * K + k]) : 0, scale = abs(ref)
                        for n in 0..<N { ref += Double(A[m * N + n]) * Double(W[n * K + k]); scale += abs(Double(A[m * N + n]) * Double(W[n * K + k])) }
                        XCTAssertEqual(Double(C[m * K + k]), ref, accuracy: 1e-6 * scale + 1e-7, "M \(M) N \(N) K \(K) acc \(accumulate) at (\(m), \(k))")
                    }
                }
            }
        }
        let M = 40, N = 300, K = 250
        let A = (0..<M * N).map { _ in uniform() }, W = (0..<N * K).map { _ in uniform() }
        func product(rows: Range<Int>, threads: Int) -> [Float] {
            let saved = Parallel.threads
            Parallel.threads = threads
            defer { Parallel.threads = saved }
            var C = [Float](repeating: 0, count: rows.count * K)
            A.withUnsafeBufferPointer { a in W.withUnsafeBufferPointer { w in C.withUnsafeMutableBufferPointer { c in
                SkinnyGEMM.multiplyNN(c.baseAddress!, ldc: K, a.baseAddress! + rows.lowerBound * N, lda: N, w.baseAddress!, ldw: K,
                                      M: rows.count, N: N, K: K, accumulate: false)
            } } }
            return C
        }
        let all = product(rows: 0..<M, threads: 1)
        XCTAssertEqual(product(rows: 0..<M, threads: 2), all, "2 threads")
        for r in [0, 3, 39] { XCTAssertEqual(product(rows: r..<(r + 1), threads: 2), Array(all[r * K..<(r + 1) * K]), "row \(r) alone") }
    }
}
