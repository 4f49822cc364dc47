import ArgumentParser
import Foundation
import SealCore
import SealKernels
import SealModel
import SealRuntime

/// Hidden commands used by the test-suite to exercise multi-rank code paths under `mpirun`.
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Internal self-tests (used by the test-suite).", shouldDisplay: false,
        subcommands: [MPISelfTest.self, MPIFail.self])
}

// SealRuntime does not depend on SealKernels, so the accumulator meets MPI here, in the program that has both:
// `mpi.allreduce(acc)` works anywhere in the seal module.

struct DebugFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// FNV-1a over bytes, as 16 hex digits (a compact fingerprint of a result for the JSON line).
func fnv1a(_ bytes: UnsafeRawBufferPointer) -> String { String(format: "%016llx", fnv1a64(bytes)) }

/// `seal debug mpi-selftest`: every collective of MPIRuntime on known data, checked on every rank; rank 0 prints one
/// JSON line. The exact sums must be the same bits for any number of ranks.
struct MPISelfTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi-selftest", abstract: "Exercise every MPI collective and the exact accumulator.")

    /// Broadcast sizes: empty, tiny, odd, and over 1 MB.
    static let broadcastSizes = [0, 1, 7, 4096, 1_048_577, 3_000_001]
    static let exactVectors = 12
    static let exactLength = 1031

    /// The record rank r contributes to gathers: rank-dependent, variable length, rank 0's empty.
    static func record(rank r: Int) -> [UInt8] {
        let n = r == 0 ? 0 : (r % 2 == 1 ? 100_003 * r : 17 * r)
        return (0..<n).map { UInt8(truncatingIfNeeded: r &* 31 &+ $0 &* 7) }
    }

    /// The 12 vectors of the exact-sum test: magnitudes log-uniform over 1e-20 ... 1e5, signs mixed, plus
    /// cancellations: vector 11 undoes the large entries of vector 0 (1e5 + tiny - 1e5).
    static func exactData() -> [[Float]] {
        var g = SplitMix64(seed: 2024)
        var vs: [[Float]] = (0..<exactVectors).map { _ in
            (0..<exactLength).map { _ in
                let mag = Float(pow(10.0, -20.0 + 25.0 * g.unit()))
                return g.next() & 1 == 0 ? mag : -mag
            }
        }
        for j in stride(from: 0, to: exactLength, by: 3) { vs[11][j] = -vs[0][j] }
        for j in stride(from: 1, to: exactLength, by: 5) { vs[5][j] = 1e5; vs[6][j] = 1e-8; vs[7][j] = -1e5 }
        return vs
    }

    func run() throws {
        let mpi = try reportingErrors { try MPIRuntime() }
        let report: [String: Any] = mpi.runOrAbort { try Self.selfTest(mpi) }
        if mpi.isRoot { printJSON(report) }
        mpi.finalize()
    }

    static func selfTest(_ mpi: MPIRuntime) throws -> [String: Any] {
        var failures: [String] = []
        func expect(_ ok: Bool, _ what: String) { if !ok { failures.append("rank \(mpi.rank): \(what)") } }

        // Broadcast: root-chosen blobs (others pass garbage of another length), from rank 0 and from the last rank.
        var bcastChecks: [String] = []
        for root in Set([0, mpi.size - 1]).sorted() {
            for n in broadcastSizes {
                var g = SplitMix64(seed: UInt64(n) &* 7919 &+ UInt64(root))
                let expected = g.bytes(n)
                let mine = mpi.rank == root ? expected : [UInt8](repeating: 0xAB, count: (mpi.rank * 13) % 5)
                let got = try mpi.broadcast(mine, root: root)
                expect(got == expected, "broadcast of \(n) bytes from root \(root)")
                if root == 0 { bcastChecks.append(expected.withUnsafeBytes { fnv1a($0) }) }
            }
        }

        // Gather (to rank 0 and to the last rank) and allgather of variable-length records.
        let mine = record(rank: mpi.rank)
        var gatherLengths: [Int] = []
        for root in Set([0, mpi.size - 1]).sorted() {
            let got = try mpi.gather(mine, root: root)
            if mpi.rank == root {
                let all = got ?? []
                expect(all.count == mpi.size, "gather to \(root): \(all.count) records")
                for (r, rec) in all.enumerated() { expect(rec == record(rank: r), "gather to \(root): record of rank \(r)") }
                if root == 0 { gatherLengths = all.map(\.count) }
            } else {
                expect(got == nil, "gather to \(root): non-root got records")
            }
        }
        let everyone = try mpi.allgather(mine)
        expect(everyone.count == mpi.size, "allgather count")
        for (r, rec) in everyone.enumerated() { expect(rec == record(rank: r), "allgather record of rank \(r)") }

        // Plain reductions.
        var floats: [Float] = (0..<5).map { Float(mpi.rank * 10 + $0) }
        try floats.withUnsafeMutableBufferPointer { try mpi.allreduceSum($0.baseAddress!, count: $0.count) }
        let ranksSum = mpi.size * (mpi.size - 1) / 2
        expect(floats == (0..<5).map { Float(ranksSum * 10 + mpi.size * $0) }, "allreduce floats \(floats)")
        let doubles = try mpi.allreduceSum([Double(mpi.rank) + 0.5, -1.0, Double(mpi.rank * mpi.rank)])
        let ints = try mpi.allreduceSum(mpi.rank + 1)
        expect(ints == mpi.size * (mpi.size + 1) / 2, "allreduce int \(ints)")
        let maxv = try mpi.allreduceMax(Double(mpi.rank) * 1.5 - 3)
        expect(maxv == Double(mpi.size - 1) * 1.5 - 3, "allreduce max \(maxv)")

        // Exact sums: vector i on rank i % size, one accumulator per rank, then the allreduce.
        let data = exactData()
        let acc = ExactAccumulator(count: exactLength)
        for (i, v) in data.enumerated() where i % mpi.size == mpi.rank { acc.add(v) }
        try mpi.allreduce(acc)
        let exact = acc.result()
        let serial = ExactAccumulator(count: exactLength)
        for v in data.reversed() { serial.add(v) }
        expect(serial.result().map(\.bitPattern) == exact.map(\.bitPattern), "exact allreduce differs from serial sum")
        expect(!acc.overflowed, "exact sum overflowed")
        // The plain float sum of the same data in rank order (for contrast: it may depend on the rank count).
        var naive = [Float](repeating: 0, count: exactLength)
        for (i, v) in data.enumerated() where i % mpi.size == mpi.rank { for j in 0..<exactLength { naive[j] += v[j] } }
        try naive.withUnsafeMutableBufferPointer { try mpi.allreduceSum($0.baseAddress!, count: $0.count) }

        // Overflow across ranks: 6e7 per rank is below 2^26, but the total reaches 2^27 from 3 ranks on; the flag
        // must say so on every rank alike. A NaN on the last rank must reach every rank's nonFinite.
        let probe = ExactAccumulator(count: 3)
        probe.add([6e7, -6e7, 1])
        if mpi.rank == mpi.size - 1 { probe.add([0, 0, .nan]) }
        try mpi.allreduce(probe)
        let flagsAgree = try mpi.allreduceSum(probe.overflowed ? 1 : 0)
        let nanAgree = try mpi.allreduceSum(probe.nonFinite ? 1 : 0)
        expect(flagsAgree == mpi.size && nanAgree == mpi.size, "overflow flags differ across ranks")
        let bigProbe = ExactAccumulator(count: 1)
        bigProbe.add([6e7])
        try mpi.allreduce(bigProbe)
        let bigFlags = try mpi.allreduceSum(bigProbe.overflowed ? 1 : 0)
        expect(bigFlags == 0 || bigFlags == mpi.size, "overflow flag differs across ranks")

        // Dynamic work queue: 97 units of uneven cost (a rank that sleeps more takes fewer); every index must run
        // exactly once across the job, and twice in a row (a second queue on a fresh communicator).
        var queueRuns: [Int] = []
        for round in 0..<2 {
            let ran = try mpi.forEachDynamic(count: 97) { i in if (i + mpi.rank + round) % 7 == 0 { usleep(2_000) } }
            let all = try mpi.allgather(try JSONEncoder().encode(ran).map { $0 })
            let union = try all.flatMap { try JSONDecoder().decode([Int].self, from: Data($0)) }
            expect(union.sorted() == Array(0..<97), "work queue round \(round): indices \(union.sorted())")
            expect(ran == ran.sorted(), "work queue round \(round): a rank got indices out of order")
            queueRuns.append(union.count)
        }
        let emptyQueue = try mpi.forEachDynamic(count: 0) { _ in }
        expect(emptyQueue.isEmpty, "empty work queue ran something")

        // Every rank's failures, on rank 0.
        let allFailures = try mpi.gather(Array(failures.joined(separator: "; ").utf8))
        let failureText = (allFailures ?? []).map { String(decoding: $0, as: UTF8.self) }.filter { !$0.isEmpty }
        try mpi.barrier()

        let hexBits = exact.map { String(format: "%08x", $0.bitPattern) }
        return [
            "size": mpi.size,
            "ok": failureText.isEmpty,
            "failures": failureText,
            "broadcast": ["sizes": broadcastSizes, "fnv1a": bcastChecks],
            "gather": ["lengths": gatherLengths],
            "work_queue": ["units": queueRuns, "thread_multiple": mpi.threadMultiple] as [String: Any],
            "allgather": ["lengths": everyone.map(\.count)],
            "allreduce": ["floats": floats.map(Double.init), "doubles": doubles, "int": ints, "max": maxv],
            "exact": [
                "vectors": exactVectors, "length": exactLength,
                "bits": hexBits.joined(),
                "fnv1a": exact.withUnsafeBytes { fnv1a($0) },
                "first": exact.prefix(8).map(Double.init),
                "overflowed": acc.overflowed,
                "naive_fnv1a": naive.withUnsafeBytes { fnv1a($0) },
            ] as [String: Any],
            "overflow_probe": [
                "per_rank": 6e7,
                "overflowed": bigProbe.overflowed,
                "nan_overflowed": probe.overflowed,
                "nan_nonfinite": probe.nonFinite,
                "nan_sum_last": Double(probe.result()[2]),
            ] as [String: Any],
        ]
    }
}

/// `seal debug mpi-fail --rank R`: rank R throws while the others wait in a barrier. The job must end promptly,
/// non-zero, with the message naming rank R — the behaviour `runOrAbort` exists for.
struct MPIFail: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi-fail", abstract: "Fail deliberately on one rank (tests that the job ends, not hangs).")

    @Option(help: "The rank that fails.")
    var rank: Int = 0

    func run() throws {
        let mpi = try reportingErrors { try MPIRuntime() }
        mpi.runOrAbort {
            guard (0..<mpi.size).contains(rank) else {
                throw DebugFailure("--rank \(rank) is not a rank of this job (0..<\(mpi.size))")
            }
            if mpi.rank == rank { throw DebugFailure("deliberate failure on rank \(rank)") }
            try mpi.barrier()
        }
        mpi.finalize()
    }
}
