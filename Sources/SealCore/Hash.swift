/// FNV-1a, 64-bit (Fowler–Noll–Vo): a stable hash of bytes, the same on every platform, Swift version and run
/// (Swift's own `Hasher` is seeded per process). For keys and seeds derived from text (context ids, prompt keys,
/// the held-out split), and for short fingerprints; not for security.
///
/// `fnv1a64(s.utf8)` hashes a string's UTF-8.
@inlinable
public func fnv1a64<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325  // the offset basis
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }  // the FNV prime
    return h
}
