import COpenBLAS
import CSealKernels
#if canImport(Glibc)
import Glibc
#endif

/// The BLAS runtime: which OpenBLAS kernel set is in use and how many threads it may use.
///
/// Why this exists: Debian's OpenBLAS is built with DYNAMIC_ARCH and picks its kernels from the CPU model number.
/// On CPUs newer than the library (e.g. the Sapphire-Rapids-class Xeons of these machines, whose model name it
/// does not know) it falls back to its Prescott (SSE3) kernels, which run sgemm about 5x slower than the AVX-512
/// kernels the CPU supports. The choice is made once, in the library's constructor, from `OPENBLAS_CORETYPE`; by the
/// time any Swift code runs it is too late to change it in-process. `BLASRuntime.ensureFastCore` therefore
/// re-executes the program once with `OPENBLAS_CORETYPE` set to the best kernel set the CPU's flags allow, before
/// MPI or anything else starts. A user who sets `OPENBLAS_CORETYPE` themselves is obeyed.
public enum BLASRuntime {
    /// The name of the kernel set OpenBLAS uses (e.g. "SkylakeX", "Haswell", "Prescott").
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// OpenBLAS's build configuration string (version, DYNAMIC_ARCH, threading model).
    public static var configString: String {
        guard let p = openblas_get_config() else { return "unknown" }
        return String(cString: p)
    }

    /// Threads OpenBLAS uses for one call.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Sets the thread count of OpenBLAS and of seal's own parallel kernels.
    public static func setThreads(_ n: Int) {
        let n = min(max(1, n), maxThreads)
        // Flush denormals to zero on this thread, then restart OpenBLAS's workers so they are created from this
        // thread and inherit the same control word: one denormal operand can make an sgemm ~100x slower (seen:
        // a 35 GFLOP head backward taking 29 s instead of 0.2 s).
        seal_flush_denormals_on_this_thread()
        _ = blas_thread_shutdown_()
        openblas_set_num_threads(Int32(n))
        Parallel.threads = n
    }

    /// The most threads seal asks for (the bound `--threads` and `run.threads` are checked against).
    public static let maxThreads = 4096

    /// The thread count a run should use: an explicit `--threads`, else `SLURM_CPUS_PER_TASK` (a Slurm job step
    /// must not use cores it was not given), else every online core.
    public static func defaultThreads(explicit: Int? = nil, environment: [String: String]) -> Int {
        if let explicit, explicit > 0 { return explicit }
        if let s = environment["SLURM_CPUS_PER_TASK"] {
            if let n = Int(s.trimmingWhitespace()), (1...maxThreads).contains(n) { return n }
            // Slurm writes a small positive integer; anything else is a broken environment, said out loud.
            let warning = "seal: warning: SLURM_CPUS_PER_TASK='\(s)' is not a thread count in 1...\(maxThreads); using every online core\n"
            _ = warning.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
        }
        return min(maxThreads, max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    }

    /// Ranks OpenBLAS kernel sets by the vector width they use, so that an override only ever goes up
    /// (4: AVX-512, 3: AVX2, 2: AVX, 1: SSE or unknown).
    public static func rank(ofCore name: String) -> Int {
        switch name.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return 4
        case "haswell", "zen", "skylake": return 3
        case "sandybridge", "bulldozer", "piledriver", "steamroller", "excavator": return 2
        default: return 1
        }
    }

    /// The best OpenBLAS kernel set these CPU flags (from /proc/cpuinfo) support, or nil when there is nothing
    /// better than SSE.
    public static func bestCore(cpuFlags: Set<String>) -> String? {
        if cpuFlags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"]) { return "SkylakeX" }
        if cpuFlags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        if cpuFlags.contains("avx") { return "SandyBridge" }
        return nil
    }

    /// The flags line of /proc/cpuinfo (empty off Linux or when unreadable).
    public static func cpuFlags() -> Set<String> {
        guard let f = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(f) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var cap = 0
        defer { free(line) }
        while getline(&line, &cap, f) > 0 {
            guard let line else { break }
            let s = String(cString: line)
            if s.hasPrefix("flags") {
                guard let colon = s.firstIndex(of: ":") else { return [] }
                return Set(s[s.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init))
            }
        }
        return []
    }

    /// Environment variable marking that seal already re-executed itself (guards against a loop).
    static let reexecMarker = "SEAL_BLAS_REEXEC"

    /// Call first thing in `main`, before MPI_Init and before any thread starts. If OpenBLAS chose a kernel set
    /// slower than the CPU supports and the user did not choose one, sets `OPENBLAS_CORETYPE` and re-executes the
    /// same program with the same arguments (this does not return). Otherwise returns and the program continues.
    public static func ensureFastCore(arguments: [String]) {
        if getenv("OPENBLAS_CORETYPE") != nil || getenv(reexecMarker) != nil { return }
        guard let best = bestCore(cpuFlags: cpuFlags()), rank(ofCore: best) > rank(ofCore: coreName) else { return }
        setenv("OPENBLAS_CORETYPE", best, 1)
        setenv(reexecMarker, "1", 1)
        var cargs: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        cargs.append(nil)
        // /proc/self/exe is this very binary, whatever argv[0] or PATH say.
        execv("/proc/self/exe", &cargs)
        // exec failed: carry on with the slow kernels rather than fail the run.
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(reexecMarker)
    }
}

extension String {
    func trimmingWhitespace() -> Substring {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }
}
