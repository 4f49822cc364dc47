import CSealKernels
import Foundation
import SealCore
import SealKernels
import SealRuntime
import XCTest
import SealTestSupport

// Two suites:
//   ExactSumMPITests  the exact accumulator in one process: exactness, partition invariance, correct rounding,
//                     overflow flags, and the reduction protocol that MPIRuntime.allreduce uses (simulated for
//                     several "ranks" in-process). It lives here because this target depends on SealKernels.
//   MPICLITests       the built seal binary under `mpirun -np 1/2/4`: every collective, rank-count invariance of the
//                     exact sums, and a failing rank ending the job promptly.

/// SplitMix64: reproducible test data (the same generator as `seal debug mpi-selftest`).
struct TestRNG {
    var g: SplitMix64
    init(_ seed: UInt64) { g = SplitMix64(seed: seed) }
    mutating func next() -> UInt64 { g.next() }
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    /// Magnitude log-uniform over 10^lo ... 10^hi, random sign.
    mutating func spread(_ lo: Double, _ hi: Double) -> Float {
        let mag = Float(pow(10.0, lo + (hi - lo) * unit()))
        return next() & 1 == 0 ? mag : -mag
    }
    mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, below(i + 1)) }
    }
}

/// The exact reference, computed independently of seal's C code with Swift's Int128: v * 2^100 rounded to an
/// integer (exact for |v| >= 2^-77), summed, then rounded to float32 by hand (round to nearest, ties to even).
enum ExactReference {
    static func fixed(_ v: Float) -> Int128 { Int128((Double(v) * 0x1p100).rounded(.toNearestOrEven)) }

    static func toFloat(_ s: Int128) -> Float {
        if s == 0 { return 0 }
        let m = s.magnitude
        let bits = 128 - m.leadingZeroBitCount
        var q = m, e = 0
        if bits > 24 {
            e = bits - 24
            q = m >> e
            let rem = m & ((UInt128(1) << e) - 1)
            let half = UInt128(1) << (e - 1)
            if rem > half || (rem == half && q & 1 == 1) { q += 1 }
        }
        let f = Float(q) * Float(sign: .plus, exponent: e - 100, significand: 1)
        return s < 0 ? -f : f
    }

    static func sum(_ vectors: [[Float]], length: Int) -> [Float] {
        (0..<length).map { j in toFloat(vectors.reduce(Int128(0)) { $0 + fixed($1[j]) }) }
    }
}

final class ExactSumMPITests: XCTestCase {
    func bits(_ a: [Float]) -> [UInt32] { a.map(\.bitPattern) }

    /// The 128-bit wrapping sum a reduction applies to every rank's words, done in-process for `accs` as if each
    /// were one rank: every accumulator's reduction hooks run around it, as `MPIRuntime.allreduce` runs them.
    func simulatedAllreduce(_ accs: [ExactAccumulator]) {
        func nest(_ i: Int, _ buffers: [UnsafeMutableRawBufferPointer]) {
            if i == accs.count {
                let words = buffers[0].count / 16
                let total = UnsafeMutableRawBufferPointer.allocate(byteCount: buffers[0].count, alignment: 16)
                defer { total.deallocate() }
                total.copyMemory(from: UnsafeRawBufferPointer(buffers[0]))
                for b in buffers.dropFirst() { seal_exact_wrapping_sum(total.baseAddress, b.baseAddress, words) }
                for b in buffers { b.copyMemory(from: UnsafeRawBufferPointer(total)) }
                return
            }
            accs[i].withUnsafeMutableReductionBytes { nest(i + 1, buffers + [$0]) }
        }
        nest(0, [])
    }

    /// One value in, the same value out (bit for bit) over the exact range, both signs, including the range's ends;
    /// below 2^-77 the value is rounded to the 2^-100 grid, ties to even.
    func testSingleValuesRoundTrip() {
        var values: [Float] = [0, -0.0, 1, -1, 0x1p-77, -0x1p-77, 0x1.fffffep25, -0x1.fffffep25, 67108860,
                               .leastNormalMagnitude, .leastNonzeroMagnitude, 0x1p-100, 0x1p-101, 0x3p-101, 0x5p-102,
                               0x1.8p-100, 0x1.000002p-77, 1e-20, -3.5e-25, 123456.789, 1e-8]
        var g = TestRNG(7)
        for _ in 0..<4000 { values.append(Float(bitPattern: UInt32(truncatingIfNeeded: g.next()) & 0xcc7f_ffff)) }
        for _ in 0..<4000 { values.append(g.spread(-35, 7.8)) }
        values = values.filter { $0.isFinite && abs($0) < 0x1p26 }
        let acc = ExactAccumulator(count: values.count)
        acc.add(values)
        let r = acc.result()
        XCTAssertFalse(acc.overflowed)
        for (v, got) in zip(values, r) {
            let expected = abs(v) >= 0x1p-77 ? (v == 0 ? Float(0) : v) : ExactReference.toFloat(ExactReference.fixed(v))
            XCTAssertEqual(got.bitPattern, expected.bitPattern, "\(v) -> \(got), expected \(expected)")
        }
        // Ties to even on the grid: 0.5, 1.5 and 2.5 units of 2^-100.
        let ties = ExactAccumulator(count: 3)
        ties.add([0x1p-101, 0x3p-101, 0x5p-101])
        XCTAssertEqual(ties.result(), [0, 0x2p-100, 0x2p-100])
    }

    /// The exact sum is rounded once, to nearest-even: ties, sticky bits far below the float's last place, and the
    /// case that two roundings (through double) get wrong.
    func testResultIsCorrectlyRounded() {
        let cases: [([Float], Float)] = [
            ([16_777_216, 1], 16_777_216),                          // tie, even stays
            ([16_777_216, 1, 2], 16_777_220),                       // 2^24 + 3: tie, rounds to the even neighbour
            ([16_777_216, 1, 0x1p-30], 16_777_218),                 // just above the tie: up
            ([16_777_216, 1, -0x1p-30], 16_777_216),                // just below: down
            ([1, 0x1p-24, 0x1p-80], 1 + 0x1p-23),                   // via double: 1 + 2^-24 (tie) -> 1, wrong
            ([-1, -0x1p-24, -0x1p-80], -(1 + 0x1p-23)),
            ([1e5, 1e-8, -1e5], 1e-8),                              // catastrophic cancellation, exact
            ([0x1p25, 0x1p25, -0x1p-70], 0x1p26),                   // 2^26 - tiny rounds back to 2^26
            ([0x1.fffffep25, 0x1.fffffep25], 0x1.fffffep26),        // the largest sums (just below 2^27)
            ([0x1p-77, -0x1p-77, 0x1p-100], 0x1p-100),              // one unit of the grid
        ]
        for (vals, expected) in cases {
            let acc = ExactAccumulator(count: 1)
            for v in vals { acc.add([v]) }
            XCTAssertEqual(acc.result()[0].bitPattern, expected.bitPattern, "\(vals) -> \(acc.result()[0])")
            XCTAssertFalse(acc.overflowed, "\(vals)")
            let ref = ExactReference.toFloat(vals.reduce(Int128(0)) { $0 + ExactReference.fixed($1) })
            XCTAssertEqual(ref.bitPattern, expected.bitPattern, "reference for \(vals)")
        }
    }

    /// The property data-parallel training relies on: any partition of a list of vectors into groups, each group
    /// summed in any order, the groups then added in any order (locally or by the reduction across ranks), gives
    /// the same float bits as one accumulator — and those bits are the correctly rounded exact sum.
    func testPartitionInvariance() {
        var g = TestRNG(42)
        let count = 24, length = 263
        var vectors: [[Float]] = (0..<count).map { _ in (0..<length).map { _ in g.spread(-20, 5) } }
        // Cancellations: pairs that undo each other's big entries, leaving the tiny ones (1e5 + 1e-8 - 1e5).
        for j in stride(from: 0, to: length, by: 2) {
            vectors[3][j] = 1e5; vectors[4][j] = 1e-8; vectors[5][j] = -1e5
            vectors[9][j] = -vectors[10][j]
        }
        for j in stride(from: 1, to: length, by: 7) { vectors[12][j] = 0x1.fffffep24; vectors[13][j] = -0x1.fffffep24 }
        let reference = ExactReference.sum(vectors, length: length)

        let one = ExactAccumulator(count: length)
        for v in vectors { one.add(v) }
        XCTAssertEqual(bits(one.result()), bits(reference), "one accumulator vs the Int128 reference")

        // The plain float sum does depend on the order (this is what the accumulator fixes).
        var orderDependent = false
        for trial in 0..<60 {
            let groups = 1 + g.below(8)
            var order = Array(0..<count)
            g.shuffle(&order)
            let accs = (0..<groups).map { _ in ExactAccumulator(count: length) }
            for (k, i) in order.enumerated() { accs[trial % 2 == 0 ? k % groups : g.below(groups)].add(vectors[i]) }
            var merged: [Float]
            if trial % 3 == 0 {
                simulatedAllreduce(accs)
                merged = accs[0].result()
                for a in accs.dropFirst() { XCTAssertEqual(bits(a.result()), bits(merged), "every rank agrees") }
            } else {
                var ids = Array(0..<groups)
                g.shuffle(&ids)
                let total = ExactAccumulator(count: length)
                for i in ids { total.add(accs[i]) }
                merged = total.result()
            }
            XCTAssertEqual(bits(merged), bits(reference), "trial \(trial): \(groups) groups")
            XCTAssertFalse(accs.contains { $0.overflowed })

            var naive = [Float](repeating: 0, count: length)
            for i in order { for j in 0..<length { naive[j] += vectors[i][j] } }
            if bits(naive) != bits(reference) { orderDependent = true }
        }
        XCTAssertTrue(orderDependent, "the data should make plain float sums order-dependent")
    }

    /// Offsets, reset, and the multi-threaded path (same bits whatever the thread count).
    func testOffsetsResetAndThreads() {
        var g = TestRNG(5)
        let n = 300_000
        let a = (0..<n).map { _ in g.spread(-20, 5) }, b = (0..<n).map { _ in g.spread(-20, 5) }
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        Parallel.threads = 1
        let single = ExactAccumulator(count: n)
        single.add(a); single.add(b)
        Parallel.threads = 3
        let multi = ExactAccumulator(count: n)
        multi.add(a); multi.add(b)
        XCTAssertEqual(bits(multi.result()), bits(single.result()))
        XCTAssertEqual(bits(single.result()), bits(ExactReference.sum([a, b], length: n)))

        let part = ExactAccumulator(count: 10)
        part.add([1, 2, 3], at: 7)
        part.add([0.5], at: 0)
        XCTAssertEqual(part.result(), [0.5, 0, 0, 0, 0, 0, 0, 1, 2, 3])
        part.reset()
        XCTAssertEqual(part.result(), [Float](repeating: 0, count: 10))
        let empty = ExactAccumulator(count: 0)
        empty.add([Float]())
        XCTAssertEqual(empty.result(), [])
        XCTAssertFalse(empty.overflowed)
    }

    /// Values outside the range and non-finite values set the flags and are left out (the other values' sums stay
    /// exact); a sum reaching 2^27 sets `overflowed`, locally and across (simulated) ranks, on every rank alike.
    func testOverflowAndNonFiniteFlags() {
        let acc = ExactAccumulator(count: 4)
        acc.add([1, 2, 3, 4])
        XCTAssertFalse(acc.overflowed)
        acc.add([0x1p26, 1, 0, 0])
        XCTAssertTrue(acc.overflowed)
        XCTAssertFalse(acc.nonFinite)
        XCTAssertEqual(acc.result(), [1, 3, 3, 4], "the out-of-range value is left out, nothing else changes")
        acc.reset()
        acc.add([.nan, .infinity, -.infinity, 0.25])
        XCTAssertTrue(acc.nonFinite)
        XCTAssertTrue(acc.overflowed)
        XCTAssertEqual(acc.result(), [0, 0, 0, 0.25])
        acc.reset()
        XCTAssertFalse(acc.overflowed || acc.nonFinite)

        // Sums: 2 * (2^26 - 4) < 2^27 is fine, a third one is not.
        let big = ExactAccumulator(count: 1)
        big.add([67_108_860]); big.add([67_108_860])
        XCTAssertFalse(big.overflowed)
        XCTAssertEqual(big.result(), [134_217_720])
        big.add([67_108_860])
        XCTAssertTrue(big.overflowed)
        let neg = ExactAccumulator(count: 1)
        for _ in 0..<3 { neg.add([-67_108_860]) }
        XCTAssertTrue(neg.overflowed)
        // Merging accumulators.
        let x = ExactAccumulator(count: 1), y = ExactAccumulator(count: 1)
        x.add([6e7]); x.add([6e7]); y.add([6e7])
        XCTAssertFalse(x.overflowed || y.overflowed)
        x.add(y)
        XCTAssertTrue(x.overflowed)

        // Across ranks: 6e7 on each of 2 ranks fits, on 3 ranks it does not; every rank sees the same flag.
        for ranks in [1, 2, 3, 4] {
            let accs = (0..<ranks).map { _ in ExactAccumulator(count: 2) }
            for a in accs { a.add([6e7, 1]) }
            simulatedAllreduce(accs)
            for a in accs {
                XCTAssertEqual(a.overflowed, ranks >= 3, "\(ranks) ranks")
                XCTAssertEqual(a.result()[1], Float(ranks))
                if ranks < 3 { XCTAssertEqual(a.result()[0], Float(ranks) * 6e7) }
            }
        }
        // One rank's NaN reaches every rank, and repeated reductions never wrap the counters back to 0.
        let accs = (0..<2).map { _ in ExactAccumulator(count: 1) }
        accs[1].add([.nan])
        for _ in 0..<80 { simulatedAllreduce(accs) }
        XCTAssertTrue(accs.allSatisfy { $0.nonFinite && $0.overflowed })
    }

    /// The accumulator through MPIRuntime on one rank (no mpirun): unchanged, flags kept.
    func testSingleRankMPIAllreduce() throws {
        let mpi = try MPIRuntime()
        let acc = ExactAccumulator(count: 3)
        acc.add([1e5, 1e-8, -3])
        acc.add([-1e5, 0, 0])
        try acc.withUnsafeMutableReductionBytes { try mpi.allreduceInt128Sum($0) }
        XCTAssertEqual(acc.result(), [0, 1e-8, -3])
        XCTAssertFalse(acc.overflowed)
        acc.add([.infinity, 0, 0])
        try acc.withUnsafeMutableReductionBytes { try mpi.allreduceInt128Sum($0) }
        XCTAssertTrue(acc.nonFinite)
    }
}

/// Runs `mpirun` on the built seal binary.
struct MPIRunner {
    struct Result { var status: Int32; var out: String; var err: String; var seconds: Double; var timedOut: Bool }

    /// mpirun from PATH. Missing mpirun is a failure, not a skip: `make test` installs openmpi-bin.
    static func mpirun() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let p = "\(dir)/mpirun"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        XCTFail("mpirun not found on PATH (\(path)); install openmpi-bin (make deps)")
        throw CocoaError(.fileNoSuchFile)
    }

    /// Flags that make OpenMPI 4.1 work in containers and CI:
    ///   --allow-run-as-root             containers often run as root; mpirun refuses root without it
    ///   --oversubscribe                 more ranks than cores (4 ranks on a 2-core runner)
    ///   --bind-to none                  oversubscribed ranks pinned to the same cores would crawl
    ///   --mca btl self,vader            shared memory only: no network interfaces needed (none in a sandbox)
    ///   --mca btl_vader_single_copy_mechanism none
    ///                                   vader's default single copy (CMA, process_vm_readv) needs ptrace rights
    ///                                   that unprivileged containers lack ("Read -1, expected ..., errno = 1")
    static let flags = ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
                        "--mca", "btl", "self,vader", "--mca", "btl_vader_single_copy_mechanism", "none"]

    /// This process's environment without OpenMPI/PMIx variables: once this test process has initialised MPI
    /// itself (as a singleton, in other tests), OpenMPI has put PMIX_* / OMPI_* variables into its environment, and
    /// a child inheriting them would try to join this process's job instead of starting its own.
    static func environment() -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { k, _ in
            !["OMPI_", "PMIX_", "ORTE_", "OPAL_", "PRTE_"].contains { k.hasPrefix($0) }
        }
        env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        return env
    }

    /// Runs `ranks` copies of seal (or seal alone when ranks is nil) with a deadline; past it the job is killed
    /// and `timedOut` set.
    static func run(ranks: Int?, _ args: [String], mpiArgs: [String] = [], timeout: Double = 120,
                    env extra: [String: String] = [:]) throws -> Result {
        let p = Process()
        if let ranks {
            p.executableURL = URL(fileURLWithPath: try mpirun())
            p.arguments = flags + mpiArgs + ["-np", String(ranks), CLIHarness.binary.path] + args
        } else {
            p.executableURL = CLIHarness.binary
            p.arguments = args
        }
        p.environment = environment().merging(extra) { _, new in new }
        let dir = scratchRoot.appendingPathComponent("mpirun-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let outURL = dir.appendingPathComponent("out"), errURL = dir.appendingPathComponent("err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let outH = try FileHandle(forWritingTo: outURL), errH = try FileHandle(forWritingTo: errURL)
        p.standardOutput = outH
        p.standardError = errH
        p.standardInput = FileHandle.nullDevice
        let start = Date()
        try p.run()
        var timedOut = false
        while p.isRunning {
            if Date().timeIntervalSince(start) > timeout {
                timedOut = true
                p.terminate()
                let grace = Date()
                while p.isRunning && Date().timeIntervalSince(grace) < 5 { usleep(50_000) }
                if p.isRunning { kill(p.processIdentifier, SIGKILL) }
                break
            }
            usleep(20_000)
        }
        p.waitUntilExit()
        let seconds = Date().timeIntervalSince(start)
        try outH.close(); try errH.close()
        let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        return Result(status: p.terminationStatus, out: out, err: err, seconds: seconds, timedOut: timedOut)
    }
}

final class MPICLITests: XCTestCase {
    /// `seal debug mpi-selftest`'s 12 vectors (the generator is repeated here so the test has its own reference).
    static func selftestVectors() -> [[Float]] {
        var g = TestRNG(2024)
        var vs: [[Float]] = (0..<12).map { _ in
            (0..<1031).map { _ in
                let mag = Float(pow(10.0, -20.0 + 25.0 * g.unit()))
                return g.next() & 1 == 0 ? mag : -mag
            }
        }
        for j in stride(from: 0, to: 1031, by: 3) { vs[11][j] = -vs[0][j] }
        for j in stride(from: 1, to: 1031, by: 5) { vs[5][j] = 1e5; vs[6][j] = 1e-8; vs[7][j] = -1e5 }
        return vs
    }

    func selftest(ranks: Int?, mpiArgs: [String] = []) throws -> [String: Any] {
        let r = try MPIRunner.run(ranks: ranks, ["debug", "mpi-selftest"], mpiArgs: mpiArgs)
        let label = (ranks.map { "-np \($0)" } ?? "no mpirun") + " \(mpiArgs)"
        XCTAssertFalse(r.timedOut, "\(label) timed out: \(r.err)")
        XCTAssertEqual(r.status, 0, "\(label): \(r.err)")
        let lines = r.out.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "\(label): only rank 0 prints, one line: \(r.out)")
        guard let line = lines.first,
              let j = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            XCTFail("\(label): no JSON: \(r.out) \(r.err)")
            return [:]
        }
        XCTAssertEqual(j["ok"] as? Bool, true, "\(label): \(j["failures"] ?? "")")
        XCTAssertEqual((j["failures"] as? [String])?.count, 0)
        return j
    }

    /// Every collective on 1, 2, 3 and 4 ranks (and without mpirun), and the exact sums bit-identical across all
    /// of them and equal to the correctly rounded exact sum computed here.
    func testSelftestRankCountInvariance() throws {
        let reference = ExactReference.sum(Self.selftestVectors(), length: 1031)
        let referenceHex = reference.map { String(format: "%08x", $0.bitPattern) }.joined()
        var exactBits: [String] = []
        var broadcastPrints: [[String]] = []
        // The last run sends every buffer through MPIRuntime's chunking (4 KiB per collective call).
        let runs: [(Int?, [String])] = [(nil, []), (1, []), (2, []), (4, []), (3, ["-x", "SEAL_MPI_CHUNK_BYTES=4096"])]
        for (ranks, mpiArgs) in runs {
            let j = try selftest(ranks: ranks, mpiArgs: mpiArgs)
            let size = ranks ?? 1
            XCTAssertEqual(j["size"] as? Int, size)
            let exact = j["exact"] as? [String: Any] ?? [:]
            exactBits.append(exact["bits"] as? String ?? "")
            XCTAssertEqual(exact["overflowed"] as? Bool, false)
            // Gather: rank r's record has a rank-dependent length, rank 0's is empty.
            let lengths = (0..<size).map { r in r == 0 ? 0 : (r % 2 == 1 ? 100_003 * r : 17 * r) }
            XCTAssertEqual((j["gather"] as? [String: Any])?["lengths"] as? [Int], lengths)
            XCTAssertEqual((j["allgather"] as? [String: Any])?["lengths"] as? [Int], lengths)
            let bc = j["broadcast"] as? [String: Any] ?? [:]
            XCTAssertEqual(bc["sizes"] as? [Int], [0, 1, 7, 4096, 1_048_577, 3_000_001])
            broadcastPrints.append(bc["fnv1a"] as? [String] ?? [])
            let red = j["allreduce"] as? [String: Any] ?? [:]
            XCTAssertEqual(red["int"] as? Int, size * (size + 1) / 2)
            XCTAssertEqual(red["max"] as? Double, Double(size - 1) * 1.5 - 3)
            XCTAssertEqual(red["doubles"] as? [Double],
                           [Double(size * (size - 1)) / 2 + 0.5 * Double(size), -Double(size),
                            Double((0..<size).map { $0 * $0 }.reduce(0, +))])
            let probe = j["overflow_probe"] as? [String: Any] ?? [:]
            XCTAssertEqual(probe["overflowed"] as? Bool, size >= 3, "6e7 per rank overflows from 3 ranks on")
            XCTAssertEqual(probe["nan_nonfinite"] as? Bool, true)
            XCTAssertEqual(probe["nan_sum_last"] as? Double, Double(size))
            let queue = j["work_queue"] as? [String: Any] ?? [:]
            XCTAssertEqual(queue["units"] as? [Int], [97, 97], "every work-queue unit runs exactly once")
            if size > 1 { XCTAssertEqual(queue["thread_multiple"] as? Bool, true, "OpenMPI gives MPI_THREAD_MULTIPLE") }
        }
        for b in exactBits { XCTAssertEqual(b, referenceHex, "exact sums: the correctly rounded exact sum") }
        XCTAssertEqual(Set(exactBits).count, 1, "exact sums are the same bits for every rank count")
        XCTAssertEqual(Set(broadcastPrints.map { $0.joined() }).count, 1)
    }

    /// One rank's error ends the whole job promptly: non-zero exit, the message naming the rank, no hang.
    func testFailingRankEndsJob() throws {
        let r = try MPIRunner.run(ranks: 2, ["debug", "mpi-fail", "--rank", "1"], timeout: 60)
        XCTAssertFalse(r.timedOut, "the job hung: \(r.err)")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("seal: rank 1: deliberate failure on rank 1"), r.err)
        XCTAssertLessThan(r.seconds, 30)

        let r4 = try MPIRunner.run(ranks: 4, ["debug", "mpi-fail", "--rank", "0"], timeout: 60)
        XCTAssertFalse(r4.timedOut, "the job hung: \(r4.err)")
        XCTAssertNotEqual(r4.status, 0)
        XCTAssertTrue(r4.err.contains("seal: rank 0: deliberate failure on rank 0"), r4.err)
    }
}
