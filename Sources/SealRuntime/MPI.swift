import CMPI
import Foundation

/// A thin layer over OpenMPI. seal is one SPMD program: every rank runs the same code and these calls are the only
/// places ranks meet. Without `mpirun` the program is simply rank 0 of 1.
public enum MPIError: Error, CustomStringConvertible {
    case call(String, code: Int32)
    public var description: String {
        switch self { case .call(let f, let c): return "\(f) failed with MPI error \(c)" }
    }
}

public final class MPIRuntime: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    private let initializedHere: Bool

    /// Initialises MPI (once per process). Errors return codes instead of aborting so they can be reported with
    /// the rank named.
    public init() throws {
        var flag: Int32 = 0
        MPI_Initialized(&flag)
        if flag == 0 {
            var provided: Int32 = 0
            let rc = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided)
            guard rc == seal_mpi_success() else { throw MPIError.call("MPI_Init_thread", code: rc) }
            initializedHere = true
        } else {
            initializedHere = false
        }
        MPI_Comm_set_errhandler(seal_mpi_comm_world(), seal_mpi_errors_return())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(seal_mpi_comm_world(), &r)
        MPI_Comm_size(seal_mpi_comm_world(), &s)
        rank = Int(r)
        size = Int(s)
    }

    public var isRoot: Bool { rank == 0 }

    public func barrier() throws {
        let rc = MPI_Barrier(seal_mpi_comm_world())
        guard rc == seal_mpi_success() else { throw MPIError.call("MPI_Barrier", code: rc) }
    }

    /// Sums `count` floats at `buffer` over all ranks, in place.
    public func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        var done = 0
        // MPI counts are Int32: large gradient buffers go in chunks.
        while done < count {
            let n = min(count - done, 1 << 30)
            let rc = MPI_Allreduce(seal_mpi_in_place(), buffer + done, Int32(n), seal_mpi_float(), seal_mpi_sum(),
                                   seal_mpi_comm_world())
            guard rc == seal_mpi_success() else { throw MPIError.call("MPI_Allreduce", code: rc) }
            done += n
        }
    }

    /// Ends every rank of the job with `message` printed by this rank: the way one rank's error stops the job
    /// instead of leaving the others hanging in a collective.
    public func abort(_ message: String, code: Int32 = 1) -> Never {
        FileHandle.standardError.write(Data("seal: rank \(rank): \(message)\n".utf8))
        MPI_Abort(seal_mpi_comm_world(), code)
        exit(code)
    }

    public func finalize() {
        var flag: Int32 = 0
        MPI_Finalized(&flag)
        if flag == 0 && initializedHere { MPI_Finalize() }
    }
}
