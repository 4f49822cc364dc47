/// Index of the first byte that does not belong to a well-formed UTF-8 sequence (RFC 3629: no overlong forms,
/// no surrogates, nothing past U+10FFFF), or nil when all of `b` is well formed.
///
/// Swift's `String(decoding:as:)` repairs such bytes silently; the parsers that must refuse them (tokenizer.json,
/// JSONL training data) ask here first.
public func firstInvalidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
    // On the path of every tokenizer.json string that is not ASCII (most of a byte-level vocabulary): comparisons
    // in the order of frequency, no tables.
    var i = 0
    let n = b.count
    while i < n {
        let c = b[i]
        if c < 0x80 { i += 1; continue }
        if c >= 0xC2, c <= 0xDF {
            guard i + 1 < n, b[i + 1] & 0xC0 == 0x80 else { return i }
            i += 2
        } else if c >= 0xE0, c <= 0xEF {
            guard i + 2 < n, b[i + 1] & 0xC0 == 0x80, b[i + 2] & 0xC0 == 0x80 else { return i }
            if c == 0xE0, b[i + 1] < 0xA0 { return i }  // overlong
            if c == 0xED, b[i + 1] >= 0xA0 { return i }  // a surrogate
            i += 3
        } else if c >= 0xF0, c <= 0xF4 {
            guard i + 3 < n, b[i + 1] & 0xC0 == 0x80, b[i + 2] & 0xC0 == 0x80, b[i + 3] & 0xC0 == 0x80 else { return i }
            if c == 0xF0, b[i + 1] < 0x90 { return i }  // overlong
            if c == 0xF4, b[i + 1] >= 0x90 { return i }  // past U+10FFFF
            i += 4
        } else {
            return i
        }
    }
    return nil
}

/// Whether all of `bytes` is well-formed UTF-8 (see `firstInvalidUTF8`).
public func isValidUTF8(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBufferPointer { firstInvalidUTF8($0) == nil }
}
