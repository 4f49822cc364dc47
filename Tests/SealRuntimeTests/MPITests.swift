import Foundation
import XCTest
import SealRuntime

/// MPIRuntime as a single process (no mpirun): rank 0 of 1, where every collective must still work and return
/// what a one-rank job would. Multi-rank behaviour is tested under mpirun in SealCLITests' MPICLITests, and the exact
/// accumulator itself (SealKernels) in SealCLITests' ExactSumMPITests (this target depends on SealRuntime only).
final class MPITests: XCTestCase {
    /// One runtime for the whole process: MPI is initialised once and never finalised here (no MPI call may follow
    /// MPI_Finalize, and other tests in this process use MPI too).
    static let mpi: MPIRuntime = try! MPIRuntime()
    var mpi: MPIRuntime { Self.mpi }

    func testSingleRankIdentity() throws {
        XCTAssertEqual(mpi.rank, 0)
        XCTAssertEqual(mpi.size, 1)
        XCTAssertTrue(mpi.isRoot)
        try mpi.barrier()
        XCTAssertEqual(try mpi.allreduceSum([1.5, -2, 0]), [1.5, -2, 0])
        XCTAssertEqual(try mpi.allreduceSum([Double]()), [])
        XCTAssertEqual(try mpi.allreduceMax(-7.25), -7.25)
        XCTAssertEqual(try mpi.allreduceSum(42), 42)
        XCTAssertEqual(try mpi.allreduceSum(-(1 << 40)), -(1 << 40))
        var f: [Float] = [1, 2, 3]
        try f.withUnsafeMutableBufferPointer { try mpi.allreduceSum($0.baseAddress!, count: 3) }
        XCTAssertEqual(f, [1, 2, 3])
    }

    func testBroadcastAnyLength() throws {
        for n in [0, 1, 255, 1 << 20, (1 << 20) + 3] {
            let data = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
            XCTAssertEqual(try mpi.broadcast(data), data, "\(n) bytes")
            XCTAssertEqual(try mpi.broadcast(data, root: 0), data)
        }
    }

    func testGatherAndAllgather() throws {
        for rec in [[UInt8](), [1, 2, 3], [UInt8](repeating: 9, count: 100_000)] {
            let g = try mpi.gather(rec)
            XCTAssertEqual(g, [rec])
            XCTAssertEqual(try mpi.allgather(rec), [rec])
        }
    }

    /// Argument errors are thrown (the same on every rank), never a crash or an MPI abort.
    func testBadRootThrowsNamingTheCall() {
        XCTAssertThrowsError(try mpi.broadcast([1], root: 1)) { e in
            XCTAssertTrue("\(e)".contains("broadcast") && "\(e)".contains("root 1"), "\(e)")
        }
        XCTAssertThrowsError(try mpi.gather([1], root: -1)) { e in XCTAssertTrue("\(e)".contains("gather"), "\(e)") }
        var odd = [UInt8](repeating: 0, count: 17)
        XCTAssertThrowsError(try odd.withUnsafeMutableBytes { try mpi.allreduceInt128Sum($0) })
    }

    /// MPI error codes become errors that name the call and carry OpenMPI's text.
    func testErrorDescriptionNamesCall() {
        let e = MPIError.call("MPI_Bcast", code: 8)
        XCTAssertTrue(e.description.hasPrefix("MPI_Bcast failed with MPI error 8"), e.description)
        XCTAssertGreaterThan(e.description.count, "MPI_Bcast failed with MPI error 8".count, "OpenMPI's text is included")
    }

    /// runOrAbort returns the body's value when nothing throws (the abort path ends the process: tested under
    /// mpirun in MPICLITests).
    func testRunOrAbortPassesValuesThrough() {
        XCTAssertEqual(mpi.runOrAbort { 6 * 7 }, 42)
        XCTAssertEqual(mpi.runOrAbort { try mpi.allreduceSum(5) }, 5)
    }

    /// A minimal ExactReducible: 128-bit words the reduction must leave as they are on one rank, with the
    /// before/after hooks run around it.
    final class Words: ExactReducible {
        var words: [UInt64]
        var calls = 0
        init(_ w: [UInt64]) { words = w }
        func withUnsafeMutableReductionBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
            calls += 1
            return try words.withUnsafeMutableBytes { try body($0) }
        }
    }

    func testExactReducibleSingleRank() throws {
        let w = Words([1, 0, .max, .max, 0, 1 << 63, 5, 0])
        try mpi.allreduce(w)
        XCTAssertEqual(w.calls, 1)
        XCTAssertEqual(w.words, [1, 0, .max, .max, 0, 1 << 63, 5, 0])
        let empty = Words([])
        try mpi.allreduce(empty)
        XCTAssertEqual(empty.words, [])
    }
}
