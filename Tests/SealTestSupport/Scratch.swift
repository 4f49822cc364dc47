import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Every temporary file of this test process lives under one folder, removed when the process exits, so repeated
/// test runs (CI, developers) never fill /tmp with model copies.
public let scratchRoot: URL = {
    let u = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("seal-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "seal-tests-\(getpid())") }
    return u
}()
