import Foundation
import SealRuntime
#if canImport(Glibc)
import Glibc
#endif

/// The writer's private working copy of a metrics file, and its publication: HDF5 writes go to `RUN.h5.writing`
/// only; at every commit the working copy is copied to `RUN.h5.publish`, fsynced and renamed over `RUN.h5`
/// (rename is atomic within a directory), so the file at the run's path is always the image of a finished
/// commit, whatever moment a kill, a preemption or a node crash lands on — including inside `H5Fflush`, which
/// writes its metadata piece by piece and the superblock last (a kill there left links to objects beyond the
/// recorded end of the file: "addr overflow", and a run that could not resume; seen about once per 125 kills of
/// a writer in a tight loop). A torn working copy is never read again: resume starts from the published file.
///
/// The working copy also carries the writers' lock: `flock(LOCK_EX | LOCK_NB)` on it, held for the writer's
/// life. A second writer of the same run, in another process or in this one (flock treats each open file
/// description separately), is refused. Where the file system has no flock (some NFS mounts) the lock is skipped,
/// as HDF5 itself does.
final class WorkingCopy: @unchecked Sendable {
    /// The run's file, as readers see it.
    let published: String
    /// Where HDF5 writes.
    let work: String
    private var lockFD: Int32

    static func workPath(_ published: String) -> String { published + ".writing" }

    /// Takes the writers' lock on the working copy (creating it, empty, if absent).
    init(published: String) throws {
        self.published = published
        work = WorkingCopy.workPath(published)
        lockFD = open(work, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockFD >= 0 else { throw MetricsError.io(path: work, "cannot create the working copy: \(String(cString: strerror(errno)))") }
        if flock(lockFD, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            if e == EWOULDBLOCK {
                close(lockFD)
                lockFD = -1
                throw MetricsError.alreadyOpen(path: published)
            }
            // ENOLCK / EINVAL / EOPNOTSUPP: no flock on this file system; go on unlocked.
        }
    }

    deinit { release() }

    /// Drops the lock (idempotent).
    func release() {
        if lockFD >= 0 { close(lockFD); lockFD = -1 }
    }

    /// The working copy becomes a byte copy of the published file (resume).
    func seed() throws {
        try WorkingCopy.copy(from: published, to: work, sync: false)
    }

    /// Publishes the working copy's current bytes (call right after `H5Fflush`, when they form a complete file).
    func publish() throws {
        let tmp = published + ".publish"
        try WorkingCopy.copy(from: work, to: tmp, sync: true)
        try install(tmp)
    }

    /// Publishes the closed working copy by renaming it (no copy), then drops the lock.
    func finish() throws {
        defer { release() }
        let fd = open(work, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MetricsError.io(path: work, "cannot open: \(String(cString: strerror(errno)))") }
        let rc = fsync(fd)
        close(fd)
        guard rc == 0 else { throw MetricsError.io(path: work, "fsync: \(String(cString: strerror(errno)))") }
        try install(work)
    }

    /// rename(2) `source` over the published path, then fsync the directory so the new name survives a crash.
    private func install(_ source: String) throws {
        guard rename(source, published) == 0 else {
            throw MetricsError.io(path: published, "cannot rename \(source) over it: \(String(cString: strerror(errno)))")
        }
        let dir = (published as NSString).deletingLastPathComponent
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    /// Copies `source` to `destination` (created or truncated), fsyncing the destination when `sync`.
    static func copy(from source: String, to destination: String, sync: Bool) throws {
        let src = open(source, O_RDONLY | O_CLOEXEC)
        guard src >= 0 else { throw MetricsError.io(path: source, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(src) }
        let dst = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard dst >= 0 else { throw MetricsError.io(path: destination, "cannot create: \(String(cString: strerror(errno)))") }
        defer { close(dst) }
        let size = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let n = read(src, buffer, size)
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw MetricsError.io(path: source, "read: \(String(cString: strerror(errno)))")
            }
            var done = 0
            while done < n {
                let w = write(dst, buffer + done, n - done)
                if w < 0 {
                    if errno == EINTR { continue }
                    throw MetricsError.io(path: destination, "write: \(String(cString: strerror(errno)))")
                }
                done += w
            }
        }
        if sync, fsync(dst) != 0 { throw MetricsError.io(path: destination, "fsync: \(String(cString: strerror(errno)))") }
    }
}
