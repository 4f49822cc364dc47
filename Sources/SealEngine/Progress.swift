import Foundation
import SealKernels
#if canImport(Glibc)
import Glibc
#endif

/// Progress of a phase on rank 0: one line per finished unit with counts, rate and ETA. On a terminal the line is
/// redrawn in place (a live bar); in a batch log (Slurm's output file) every update is its own line.
public final class ProgressReporter {
    let label: String
    let total: Int
    let start: Double
    let live: Bool
    let sink: (String) -> Void
    private(set) var done = 0

    public init(label: String, total: Int, enabled: Bool, sink: @escaping (String) -> Void) {
        self.label = label
        self.total = total
        self.start = KernelStats.now()
        // OpenMPI hands ranks a pseudo-terminal even when mpirun's own output goes to a file, so under mpirun (or
        // Slurm) plain lines are used; the live bar is for a single process on a real terminal.
        let env = ProcessInfo.processInfo.environment
        let launched = env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMI_RANK"] != nil || env["SLURM_JOB_ID"] != nil
        self.live = enabled && isatty(1) != 0 && !launched
        self.sink = enabled ? sink : { _ in }
    }

    public func advance(_ n: Int = 1) {
        done += n
        let elapsed = KernelStats.now() - start
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let line = String(format: "%@ %d/%d  %.2f/s  elapsed %@  ETA %@", label, done, total, rate, Self.clock(elapsed), Self.clock(eta))
        if live {
            FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + line + (done >= total ? "\n" : "")).utf8))
        } else {
            sink(line)
        }
    }

    static func clock(_ s: Double) -> String {
        // An ETA from a near-zero rate can be enormous or infinite: never converted to Int unchecked.
        guard s.isFinite, s >= 0, s < 1e12 else { return "--:--" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}
