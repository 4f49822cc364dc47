import SealCore
import XCTest
import SealKernels
import SealTestSupport

/// seal's few-row matrix products (decode steps, short training rows), both forms — a linear layer's forward
/// C[M, N] (+)= A[M, K] · W[N, K]ᵀ and its input gradient C[M, K] (+)= A[M, N] · W[N, K] — against a float64
/// reference on shapes that exercise every tail (rows not a multiple of the 4-row tile; weight rows not a multiple
/// of 6, columns not a multiple of 16 or of the 96-column panel, N not a multiple of the 64-row block; K above the
/// 1024 block). Each output must also be the same bits whatever batch, range split or thread count computes it:
/// that is what keeps sampled tokens independent of the batch size.
final class SkinnyGEMMTests: XCTestCase {
    enum Form { case forward, inputGradient }

    /// C for rows `rows` of A (A: [M, K] forward, [M, N] input gradient; W: [N, K]) with `threads` threads.
    static func product(_ form: Form, A: [Float], W: [Float], C0: [Float]? = nil, rows: Range<Int>, N: Int, K: Int,
                        accumulate: Bool = false, threads: Int = 1) -> [Float] {
        let saved = Parallel.threads
        Parallel.threads = threads
        defer { Parallel.threads = saved }
        let lda = form == .forward ? K : N, ldc = form == .forward ? N : K
        var C = C0 ?? [Float](repeating: 0, count: rows.count * ldc)
        A.withUnsafeBufferPointer { a in W.withUnsafeBufferPointer { w in C.withUnsafeMutableBufferPointer { c in
            let ap = a.baseAddress! + rows.lowerBound * lda
            switch form {
            case .forward:
                SkinnyGEMM.multiply(c.baseAddress!, ldc: ldc, ap, lda: lda, w.baseAddress!, ldw: K, M: rows.count, N: N, K: K, accumulate: accumulate)
            case .inputGradient:
                SkinnyGEMM.multiplyNN(c.baseAddress!, ldc: ldc, ap, lda: lda, w.baseAddress!, ldw: K, M: rows.count, N: N, K: K, accumulate: accumulate)
            }
        } } }
        return C
    }

    func check(_ form: Form, shapes: [(Int, Int, Int)], seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        func uniform() -> Float { Float(rng.unit()) * 2 - 1 }
        for (M, N, K) in shapes {
            let inner = form == .forward ? K : N, cols = form == .forward ? N : K
            for accumulate in [false, true] {
                let A = (0..<M * inner).map { _ in uniform() }, W = (0..<N * K).map { _ in uniform() }
                let C0 = (0..<M * cols).map { _ in uniform() }
                let C = Self.product(form, A: A, W: W, C0: C0, rows: 0..<M, N: N, K: K, accumulate: accumulate)
                for m in 0..<M {
                    for j in 0..<cols {
                        var ref = accumulate ? Double(C0[m * cols + j]) : 0, scale = abs(ref)
                        for i in 0..<inner {
                            let w = form == .forward ? W[j * K + i] : W[i * K + j]
                            ref += Double(A[m * inner + i]) * Double(w); scale += abs(Double(A[m * inner + i]) * Double(w))
                        }
                        XCTAssertEqual(Double(C[m * cols + j]), ref, accuracy: 1e-6 * scale + 1e-7, "\(form) M \(M) N \(N) K \(K) acc \(accumulate) at (\(m), \(j))")
                    }
                }
            }
        }
        // Batch, range and thread independence, bit for bit.
        let M = 40, N = 301, K = 1100
        let A = (0..<M * (form == .forward ? K : N)).map { _ in uniform() }, W = (0..<N * K).map { _ in uniform() }
        let cols = form == .forward ? N : K
        let all = Self.product(form, A: A, W: W, rows: 0..<M, N: N, K: K)
        XCTAssertEqual(Self.product(form, A: A, W: W, rows: 0..<M, N: N, K: K, threads: 2), all, "\(form): 2 threads")
        XCTAssertEqual(Self.product(form, A: A, W: W, rows: 0..<M, N: N, K: K, threads: 3), all, "\(form): 3 threads")
        for r in [0, 3, 17, 39] {
            XCTAssertEqual(Self.product(form, A: A, W: W, rows: r..<(r + 1), N: N, K: K), Array(all[r * cols..<(r + 1) * cols]), "\(form): row \(r) alone")
        }
        XCTAssertEqual(Self.product(form, A: A, W: W, rows: 5..<12, N: N, K: K, threads: 2), Array(all[5 * cols..<12 * cols]), "\(form): rows 5..<12")
    }

    func testForwardMatchesReferenceAndIsBatchIndependent() {
        check(.forward, shapes: [(1, 1, 1), (2, 5, 15), (3, 6, 16), (4, 7, 17), (5, 13, 100), (7, 64, 1030), (40, 20, 2100), (64, 37, 896)], seed: 3)
    }

    /// Every other kernel this CPU can run (the portable loop of CPUs without AVX-512): the same contract
    /// (reference, batch independence).
    func testOtherKernelsMatchReferenceAndAreBatchIndependent() {
        for path in SkinnyGEMM.supportedPaths where path != SkinnyGEMM.path {
            SkinnyGEMM.forcing(path) {
                XCTAssertEqual(SkinnyGEMM.path, path)
                check(.forward, shapes: [(1, 1, 1), (2, 5, 15), (3, 4, 8), (4, 7, 17), (5, 13, 100), (7, 64, 1030), (40, 20, 300)], seed: 7)
                check(.inputGradient, shapes: [(1, 1, 1), (3, 65, 17), (4, 24, 24), (5, 130, 97), (7, 200, 300)], seed: 9)
            }
        }
        XCTAssertTrue(SkinnyGEMM.supportedPaths.contains(.portable))
    }

    func testInputGradientMatchesReferenceAndIsBatchIndependent() {
        check(.inputGradient, shapes: [(1, 1, 1), (2, 5, 15), (3, 64, 16), (4, 65, 17), (5, 130, 97), (7, 200, 300), (40, 20, 191), (46, 896, 128)], seed: 5)
    }
}
