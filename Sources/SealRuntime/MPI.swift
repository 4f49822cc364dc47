import CMPI
import SealKernels
import Foundation

/// A thin layer over OpenMPI. seal is one SPMD program: every rank runs the same code and these calls are the only
/// places ranks meet. Without `mpirun` the program is simply rank 0 of 1 and every call below still works.
///
/// Failure model: errors come back as return codes (MPI_ERRORS_RETURN) and are thrown as `MPIError` naming the
/// call, never an abort deep inside OpenMPI with no context. A thrown error on one rank must still end the whole
/// job — the other ranks would otherwise wait forever in the next collective — so commands run their multi-rank
/// work inside `runOrAbort`, which turns the error into `abort`: the message with the rank named, then MPI_Abort.
///
/// Argument errors (a bad root, a too-large gather) are detected from values every rank has, so every rank throws
/// the same error at the same call rather than one rank leaving the others stranded.
public enum MPIError: Error, CustomStringConvertible {
    /// An MPI call returned `code`.
    case call(String, code: Int32)
    /// A call was used outside what it supports (the same on every rank).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .call(let f, let c):
            let text = MPIError.errorString(c)
            return text.isEmpty ? "\(f) failed with MPI error \(c)" : "\(f) failed with MPI error \(c): \(text)"
        case .invalidArgument(let m):
            return m
        }
    }

    /// OpenMPI's text for an error code (empty when it has none).
    static func errorString(_ code: Int32) -> String {
        var buf = [CChar](repeating: 0, count: Int(seal_mpi_max_error_string()) + 1)
        var len: Int32 = 0
        guard MPI_Error_string(code, &buf, &len) == seal_mpi_success() else { return "" }
        return String(decoding: buf.prefix(Int(max(0, len))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// What `MPIRuntime.allreduce(_:)` sums across ranks: a buffer of 128-bit two's-complement integers, added
/// element-wise with wrapping. SealKernels' `ExactAccumulator` has exactly this method; SealRuntime does not depend
/// on SealKernels (see Package.swift), so the conformance is declared where both modules meet
/// (`extension ExactAccumulator: ExactReducible {}` in the seal program).
public protocol ExactReducible: AnyObject {
    /// Calls `body` with the raw words (a multiple of 16 bytes); `body` replaces them with the element-wise wrapping
    /// sum over all ranks. The implementation may prepare and check status words around `body`.
    func withUnsafeMutableReductionBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R
}

public final class MPIRuntime: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    private let initializedHere: Bool
    /// Whether MPI calls may come from several threads at once (needed by `forEachDynamic`'s server).
    public private(set) var threadMultiple = false
    /// The 128-bit wrapping-sum operator and its 16-byte datatype, made on first use and freed in `finalize`.
    private var int128Op: MPI_Op? = nil
    private var int128Type: MPI_Datatype? = nil

    /// MPI counts are Int32, and single messages over 2 GiB have tripped integer overflows inside MPI libraries:
    /// long buffers go in chunks of at most this many bytes (256 MiB; the per-call cost is negligible at that
    /// size). `SEAL_MPI_CHUNK_BYTES` overrides it — a test knob that sends small buffers through the chunking path;
    /// it must be the same on every rank (mpirun -x), since each chunk is a collective call.
    static let maxChunkBytes: Int = {
        if let s = ProcessInfo.processInfo.environment["SEAL_MPI_CHUNK_BYTES"], let n = Int(s), n >= 16 {
            return n / 16 * 16
        }
        return 1 << 28
    }()

    /// Initialises MPI (once per process; a second MPIRuntime in the same process shares it). Errors return codes
    /// instead of aborting so they can be reported with the rank named.
    public init() throws {
        var flag: Int32 = 0
        MPI_Initialized(&flag)
        if flag == 0 {
            var provided: Int32 = 0
            // MULTIPLE: rank 0's work-queue server (`forEachDynamic`) answers requests on a thread of its own
            // while the main thread computes. A library that gives less falls back to static scheduling.
            let rc = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_MULTIPLE), &provided)
            guard rc == seal_mpi_success() else { throw MPIError.call("MPI_Init_thread", code: rc) }
            initializedHere = true
        } else {
            initializedHere = false
        }
        var level: Int32 = 0
        MPI_Query_thread(&level)
        threadMultiple = level >= Int32(MPI_THREAD_MULTIPLE)
        try Self.check(MPI_Comm_set_errhandler(seal_mpi_comm_world(), seal_mpi_errors_return()), "MPI_Comm_set_errhandler")
        var r: Int32 = 0, s: Int32 = 0
        try Self.check(MPI_Comm_rank(seal_mpi_comm_world(), &r), "MPI_Comm_rank")
        try Self.check(MPI_Comm_size(seal_mpi_comm_world(), &s), "MPI_Comm_size")
        rank = Int(r)
        size = Int(s)
    }

    public var isRoot: Bool { rank == 0 }

    static func check(_ rc: Int32, _ call: String) throws {
        guard rc == seal_mpi_success() else { throw MPIError.call(call, code: rc) }
    }

    private func checkRoot(_ root: Int, _ call: String) throws {
        guard root >= 0 && root < size else {
            throw MPIError.invalidArgument("\(call): root \(root) is not a rank of this job (size \(size))")
        }
    }

    public func barrier() throws {
        try Self.check(MPI_Barrier(seal_mpi_comm_world()), "MPI_Barrier")
    }

    // MARK: bytes

    /// Root's bytes on every rank (`data` is ignored elsewhere). The length goes first, so any length works,
    /// including 0 and more than Int32.max (sent in chunks of `maxChunkBytes`).
    public func broadcast(_ data: [UInt8], root: Int = 0) throws -> [UInt8] {
        try checkRoot(root, "broadcast")
        var n = Int64(rank == root ? data.count : 0)
        try Self.check(MPI_Bcast(&n, 1, seal_mpi_int64(), Int32(root), seal_mpi_comm_world()), "MPI_Bcast (length)")
        if rank == root {
            // MPI_Bcast only reads the root's buffer.
            try data.withUnsafeBytes { b in
                try bcastBytes(UnsafeMutableRawPointer(mutating: b.baseAddress), count: b.count, root: root)
            }
            return data
        }
        var out = [UInt8](repeating: 0, count: Int(n))
        try out.withUnsafeMutableBytes { b in try bcastBytes(b.baseAddress, count: b.count, root: root) }
        return out
    }

    private func bcastBytes(_ p: UnsafeMutableRawPointer?, count: Int, root: Int) throws {
        guard let p, count > 0 else { return }
        var done = 0
        while done < count {
            let n = min(count - done, Self.maxChunkBytes)
            try Self.check(MPI_Bcast(p + done, Int32(n), seal_mpi_byte(), Int32(root), seal_mpi_comm_world()), "MPI_Bcast")
            done += n
        }
    }

    /// Every rank's record length, in rank order (MPI_Allgather), so every rank can check sizes the same way.
    private func allLengths(_ n: Int, _ call: String) throws -> [Int] {
        var mine = Int64(n)
        var all = [Int64](repeating: 0, count: size)
        try Self.check(MPI_Allgather(&mine, 1, seal_mpi_int64(), &all, 1, seal_mpi_int64(), seal_mpi_comm_world()),
                       "MPI_Allgather (\(call) lengths)")
        let lengths = all.map { Int($0) }
        // MPI_Gatherv / MPI_Allgatherv take Int32 counts and displacements.
        let total = lengths.reduce(0, +)
        guard total <= Int(Int32.max) else {
            throw MPIError.invalidArgument("\(call): \(total) bytes in all exceed MPI's Int32 counts (\(Int32.max))")
        }
        return lengths
    }

    private static func split(_ flat: [UInt8], _ lengths: [Int]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        out.reserveCapacity(lengths.count)
        var at = 0
        for n in lengths {
            out.append(Array(flat[at..<(at + n)]))
            at += n
        }
        return out
    }

    /// Variable-length records from every rank (MPI_Gatherv): on `root` one blob per rank in rank order, elsewhere
    /// nil. Throws the same error on every rank when the total exceeds Int32.max bytes.
    public func gather(_ record: [UInt8], root: Int = 0) throws -> [[UInt8]]? {
        try checkRoot(root, "gather")
        let lengths = try allLengths(record.count, "gather")
        let counts = lengths.map { Int32($0) }
        var displs = [Int32](repeating: 0, count: size)
        for i in 0..<size where i > 0 { displs[i] = displs[i - 1] + counts[i - 1] }
        let total = lengths.reduce(0, +)
        var flat = [UInt8](repeating: 0, count: rank == root ? max(total, 1) : 1)
        var dummy: UInt8 = 0
        try record.withUnsafeBytes { s in
            try flat.withUnsafeMutableBytes { r in
                try withUnsafeMutablePointer(to: &dummy) { d in
                    try Self.check(MPI_Gatherv(s.baseAddress ?? UnsafeRawPointer(d), Int32(s.count), seal_mpi_byte(),
                                               r.baseAddress, counts, displs, seal_mpi_byte(), Int32(root),
                                               seal_mpi_comm_world()), "MPI_Gatherv")
                }
            }
        }
        return rank == root ? Self.split(flat, lengths) : nil
    }

    /// Variable-length records from every rank on every rank, in rank order (MPI_Allgatherv).
    public func allgather(_ record: [UInt8]) throws -> [[UInt8]] {
        let lengths = try allLengths(record.count, "allgather")
        let counts = lengths.map { Int32($0) }
        var displs = [Int32](repeating: 0, count: size)
        for i in 0..<size where i > 0 { displs[i] = displs[i - 1] + counts[i - 1] }
        let total = lengths.reduce(0, +)
        var flat = [UInt8](repeating: 0, count: max(total, 1))
        var dummy: UInt8 = 0
        try record.withUnsafeBytes { s in
            try flat.withUnsafeMutableBytes { r in
                try withUnsafeMutablePointer(to: &dummy) { d in
                    try Self.check(MPI_Allgatherv(s.baseAddress ?? UnsafeRawPointer(d), Int32(s.count), seal_mpi_byte(),
                                                  r.baseAddress, counts, displs, seal_mpi_byte(), seal_mpi_comm_world()),
                                   "MPI_Allgatherv")
                }
            }
        }
        return Self.split(flat, lengths)
    }

    // MARK: reductions

    /// In-place MPI_Allreduce over `count` elements of `stride` bytes, in chunks of at most `maxChunkBytes`.
    private func allreduceInPlace(_ p: UnsafeMutableRawPointer, count: Int, stride: Int, type: MPI_Datatype?,
                                  op: MPI_Op?, _ call: String) throws {
        let perChunk = max(1, Self.maxChunkBytes / stride)
        var done = 0
        while done < count {
            let n = min(count - done, perChunk)
            try Self.check(MPI_Allreduce(seal_mpi_in_place(), p + done * stride, Int32(n), type, op,
                                         seal_mpi_comm_world()), call)
            done += n
        }
    }

    /// Sums `count` floats at `buffer` over all ranks, in place (chunked, so counts over Int32.max work). Float sums
    /// depend on the reduction order; use `allreduce(_: ExactReducible)` where bits must not depend on the rank
    /// count.
    public func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        try allreduceInPlace(buffer, count: count, stride: 4, type: seal_mpi_float(), op: seal_mpi_sum(), "MPI_Allreduce")
    }

    /// Element-wise sums over all ranks.
    public func allreduceSum(_ values: [Double]) throws -> [Double] {
        var v = values
        try v.withUnsafeMutableBytes { b in
            guard let p = b.baseAddress else { return }
            try allreduceInPlace(p, count: values.count, stride: 8, type: seal_mpi_double(), op: seal_mpi_sum(),
                                 "MPI_Allreduce (double sum)")
        }
        return v
    }

    /// The largest `v` over all ranks.
    public func allreduceMax(_ v: Double) throws -> Double {
        var x = v
        try Self.check(MPI_Allreduce(seal_mpi_in_place(), &x, 1, seal_mpi_double(), seal_mpi_max(), seal_mpi_comm_world()),
                       "MPI_Allreduce (double max)")
        return x
    }

    /// The sum of `v` over all ranks (as 64-bit integers).
    public func allreduceSum(_ v: Int) throws -> Int {
        var x = Int64(v)
        try Self.check(MPI_Allreduce(seal_mpi_in_place(), &x, 1, seal_mpi_int64(), seal_mpi_sum(), seal_mpi_comm_world()),
                       "MPI_Allreduce (int sum)")
        return Int(x)
    }

    /// Sums `buffer` (128-bit little-endian two's-complement integers, 16 bytes each) element-wise over all ranks
    /// with wrapping addition, in place. The operator is associative and commutative, so every rank gets the same
    /// bits whatever reduction tree OpenMPI picks.
    public func allreduceInt128Sum(_ buffer: UnsafeMutableRawBufferPointer) throws {
        guard buffer.count % 16 == 0 else {
            throw MPIError.invalidArgument("allreduceInt128Sum: \(buffer.count) bytes is not a multiple of 16")
        }
        guard let p = buffer.baseAddress, buffer.count > 0, size > 1 else { return }
        if int128Op == nil {
            var op: MPI_Op? = nil
            try Self.check(seal_mpi_int128_sum_create(&op), "MPI_Op_create")
            int128Op = op
        }
        if int128Type == nil {
            var t: MPI_Datatype? = nil
            try Self.check(seal_mpi_int128_type_create(&t), "MPI_Type_contiguous/MPI_Type_commit")
            int128Type = t
        }
        try allreduceInPlace(p, count: buffer.count / 16, stride: 16, type: int128Type, op: int128Op,
                             "MPI_Allreduce (int128 sum)")
    }

    /// Sums an exact accumulator over all ranks in place: afterwards every rank holds the exact total of all ranks'
    /// sums (bit-identical to adding every rank's values into one accumulator, whatever the rank count) and its
    /// `overflowed` / `nonFinite` flags are the OR over ranks — the same on every rank, so every rank takes the same
    /// branch on them.
    public func allreduce<A: ExactReducible>(_ acc: A) throws {
        try acc.withUnsafeMutableReductionBytes { try allreduceInt128Sum($0) }
    }

    // MARK: dynamic scheduling

    /// Runs `body(i)` for every i in 0..<count, each exactly once on some rank, handing out indices in increasing
    /// order to whichever rank asks next — so a rank that finishes early takes more work, however badly the costs
    /// were estimated. Put the expensive units first. Collective: every rank calls it with the same `count`, and
    /// it returns when every unit has run. Returns the indices this rank ran, in order.
    ///
    /// Rank 0 serves the queue from a thread of its own that polls for requests (sleeping 100 µs between polls, so
    /// it costs no core) on a duplicate communicator, while its main thread computes like every other rank. Which
    /// rank runs a unit depends on timing: callers must make results independent of it (seal seeds every unit
    /// from its coordinates). Without MPI_THREAD_MULTIPLE, units are dealt round-robin instead.
    @discardableResult
    public func forEachDynamic(count: Int, _ body: (Int) throws -> Void) throws -> [Int] {
        var ran: [Int] = []
        if size == 1 || !threadMultiple {
            for i in stride(from: rank, to: count, by: size) { try body(i); ran.append(i) }
            return ran
        }
        var comm: MPI_Comm? = seal_mpi_comm_null()
        try Self.check(MPI_Comm_dup(seal_mpi_comm_world(), &comm), "MPI_Comm_dup (work queue)")
        try Self.check(MPI_Comm_set_errhandler(comm, seal_mpi_errors_return()), "MPI_Comm_set_errhandler (work queue)")
        defer { MPI_Comm_free(&comm) }
        let requestTag: Int32 = 1, replyTag: Int32 = 2
        let server = WorkQueueServer(comm: comm, size: size, count: count, requestTag: requestTag, replyTag: replyTag)
        if rank == 0 { server.start() }
        var bodyError: Error? = nil
        while true {
            var request: Int64 = 0, reply: Int64 = -1
            try Self.check(MPI_Send(&request, 1, seal_mpi_int64(), 0, requestTag, comm), "MPI_Send (work request)")
            try Self.check(MPI_Recv(&reply, 1, seal_mpi_int64(), 0, replyTag, comm, nil), "MPI_Recv (work reply)")
            if reply < 0 { break }
            // After an error this rank keeps draining the queue without working, so the server can finish and the
            // error is thrown from a consistent place (the caller's runOrAbort ends the job).
            if bodyError == nil {
                do { try body(Int(reply)); ran.append(Int(reply)) } catch { bodyError = error }
            }
        }
        if rank == 0 {
            server.join()
            if let e = server.error { throw e }
        }
        if let bodyError { throw bodyError }
        return ran
    }

    // MARK: ending

    /// Ends every rank of the job with `message` printed by this rank as `seal: rank R: message`: the way one
    /// rank's error stops the job instead of leaving the others hanging in a collective (MPI_Abort makes mpirun
    /// kill every rank and exit non-zero).
    public func abort(_ message: String, code: Int32 = 1) -> Never {
        fflush(nil)
        FileHandle.standardError.write(Data("seal: rank \(rank): \(message)\n".utf8))
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Abort(seal_mpi_comm_world(), code) }
        exit(code)
    }

    /// Runs `body`; a thrown error becomes `abort` with the error's description. Multi-rank work goes in here so
    /// one rank's failure (a bad file, an MPI error) ends the whole job promptly with that rank named, instead of
    /// the other ranks waiting forever in their next collective.
    /// `exitCode` picks the job's exit status for an error (e.g. 143 for a run stopped by SIGTERM).
    public func runOrAbort<T>(exitCode: (Error) -> Int32 = { _ in 1 }, _ body: () throws -> T) -> T {
        do { return try body() } catch { abort("\(error)", code: exitCode(error)) }
    }

    /// Frees seal's MPI objects and finalises MPI when this instance initialised it. Call once at the end on every
    /// rank; no MPI call may follow.
    public func finalize() {
        var flag: Int32 = 0
        MPI_Finalized(&flag)
        guard flag == 0 else { return }
        if int128Op != nil { MPI_Op_free(&int128Op); int128Op = nil }
        if int128Type != nil { MPI_Type_free(&int128Type); int128Type = nil }
        if initializedHere { MPI_Finalize() }
    }
}

/// The exact gradient accumulator is summed across ranks through its 128-bit integers.
extension ExactAccumulator: ExactReducible {}


/// Rank 0's side of `MPIRuntime.forEachDynamic`: answers each work request with the next index, then -1 once per
/// rank when the work is gone.
private final class WorkQueueServer: @unchecked Sendable {
    let comm: MPI_Comm?
    let size: Int, count: Int
    let requestTag: Int32, replyTag: Int32
    var error: Error? = nil
    private let done = DispatchSemaphore(value: 0)

    init(comm: MPI_Comm?, size: Int, count: Int, requestTag: Int32, replyTag: Int32) {
        self.comm = comm; self.size = size; self.count = count; self.requestTag = requestTag; self.replyTag = replyTag
    }

    func start() {
        let t = Thread { [self] in
            defer { done.signal() }
            do { try serve() } catch { self.error = error }
        }
        t.name = "seal-work-queue"
        t.start()
    }

    func join() { done.wait() }

    private func serve() throws {
        var next = 0, finished = 0
        // Polling, not a blocking receive: a blocked MPI_Recv spins a core in OpenMPI. The idle sleep backs off from
        // 50 µs to 1 ms, so a queue whose units take tens of milliseconds or more costs the ranks' cores almost
        // nothing while waiting, and a request is answered within a millisecond.
        var idle: UInt32 = 50
        while finished < size {
            var flag: Int32 = 0
            var status = MPI_Status()
            try MPIRuntime.check(MPI_Iprobe(seal_mpi_any_source(), requestTag, comm, &flag, &status), "MPI_Iprobe (work queue)")
            if flag == 0 { usleep(idle); idle = min(idle * 2, 1000); continue }
            idle = 50
            let source = seal_mpi_status_source(&status)
            var request: Int64 = 0
            try MPIRuntime.check(MPI_Recv(&request, 1, seal_mpi_int64(), source, requestTag, comm, nil), "MPI_Recv (work queue)")
            var reply: Int64 = -1
            if next < count { reply = Int64(next); next += 1 } else { finished += 1 }
            try MPIRuntime.check(MPI_Send(&reply, 1, seal_mpi_int64(), source, replyTag, comm), "MPI_Send (work queue)")
        }
    }
}
