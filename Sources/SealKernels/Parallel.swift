import Dispatch

/// Data parallelism for seal's own kernels (BLAS has its own threads).
///
/// Work is cut into at most `threads` contiguous chunks so that each thread touches one contiguous range of rows:
/// no false sharing, no allocation, and the result does not depend on the thread count (every element is computed
/// by exactly the same code whichever chunk it falls in).
public enum Parallel {
    /// Set through `BLASRuntime.setThreads`.
    nonisolated(unsafe) public static var threads: Int = 1

    /// Calls `body(start, end)` over a partition of `0..<count` into contiguous ranges, in parallel when the work
    /// is large enough to pay for waking threads (`count * costPerItem` above ~64k operations).
    @inlinable
    public static func chunks(_ count: Int, costPerItem: Int = 1, _ body: (Int, Int) -> Void) {
        let t = min(threads, count)
        if t <= 1 || count * costPerItem < 65_536 {
            if count > 0 { body(0, count) }
            return
        }
        run(iterations: t) { c in
            let start = count * c / t
            let end = count * (c + 1) / t
            if end > start { body(start, end) }
        }
    }

    /// Calls `body(i)` for every i in `0..<count`, in parallel; each item is a sizeable unit of work.
    @inlinable
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        if threads <= 1 || count <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        run(iterations: count, body)
    }

    /// `DispatchQueue.concurrentPerform` demands a `@Sendable` closure because it cannot know what the closure
    /// touches; seal's kernels hand each iteration a disjoint slice of unsafe buffers, which is safe by
    /// construction, so the closure is passed through without the (pointer-rejecting) Sendable check.
    @usableFromInline
    static func run(iterations: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { escaping in
            let sendable = unsafeBitCast(escaping, to: (@Sendable (Int) -> Void).self)
            DispatchQueue.concurrentPerform(iterations: iterations, execute: sendable)
        }
    }
}
