import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the harnesses share: the input as Data or text, a per-process scratch file for APIs that only read files,
/// and the repository root (for the real tokenizers some harnesses load once).
public enum Fuzz {
    public static func data(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> Data { Data(bytes: bytes, count: size) }

    /// The bytes as text, invalid UTF-8 replaced (the harnesses that take text test the text path, not decoding).
    public static func text(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: bytes, count: size), as: UTF8.self)
    }

    /// Folder for scratch files: tmpfs where there is one (a write per execution), else the temporary directory.
    static let scratchDirectory: String = {
        if let d = ProcessInfo.processInfo.environment["SEAL_FUZZ_TMP"], !d.isEmpty { return d }
        var st = stat()
        return stat("/dev/shm", &st) == 0 ? "/dev/shm" : NSTemporaryDirectory()
    }()

    /// A path unique to this process and `name` (e.g. "model.safetensors"): the same one every execution.
    public static func scratchPath(_ name: String) -> String {
        "\(scratchDirectory)/seal-fuzz-\(getpid())-\(name)"
    }

    /// Writes the input to this process's scratch file `name` and returns its path.
    public static func writeScratch(_ name: String, _ bytes: UnsafePointer<UInt8>, _ size: Int) -> String {
        let path = scratchPath(name)
        guard let f = fopen(path, "wb") else { fatalError("seal-fuzz: cannot write \(path): \(String(cString: strerror(errno)))") }
        if size > 0 { precondition(fwrite(bytes, 1, size, f) == size, "seal-fuzz: short write to \(path)") }
        fclose(f)
        return path
    }

    /// A scratch folder `name` for APIs that read a directory; created once.
    public static func scratchDirectory(_ name: String) -> String {
        let path = scratchPath(name)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The seal checkout: $SEAL_ROOT (set by fuzz/run.sh), else two levels above this file's package.
    public static let repositoryRoot: String = {
        if let r = ProcessInfo.processInfo.environment["SEAL_ROOT"], !r.isEmpty { return r }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
    }()

    /// Removes this process's scratch files at exit (libFuzzer exits through exit(), which runs atexit handlers).
    public static func cleanUpAtExit() {
        atexit {
            let dir = Fuzz.scratchDirectory
            let prefix = "seal-fuzz-\(getpid())-"
            for f in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where f.hasPrefix(prefix) {
                try? FileManager.default.removeItem(atPath: dir + "/" + f)
            }
        }
    }
}
