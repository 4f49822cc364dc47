/// GPT-2's reversible byte ↔ unicode map.
///
/// Byte-level BPE vocabularies are written in a 256-character alphabet in which every byte has
/// a printable stand-in: the printable Latin-1 bytes map to themselves and the other 68 bytes
/// (controls, space, 0x7F–0xA0, 0xAD) map to U+0100... in order, so the space becomes `Ġ` and
/// the newline `Ċ`. Encoding maps each UTF-8 byte of a pre-token to its stand-in before BPE;
/// decoding maps the stand-ins back to bytes.
enum ByteLevel {
    /// `byteToScalar[b]` is the stand-in for byte `b`.
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\u{0}", count: 256)
        var n: UInt32 = 0
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(256 + n)!
                n += 1
            }
        }
        return table
    }()

    /// The UTF-8 encoding of each stand-in (one or two bytes), for building mapped words without
    /// going through `String`.
    static let byteToUTF8: [[UInt8]] = byteToScalar.map { Array(String($0).utf8) }

    /// Inverse map, indexed by scalar value (all stand-ins are below U+0144); -1 for "not a stand-in".
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, s) in byteToScalar.enumerated() { table[Int(s.value)] = Int16(b) }
        return table
    }()

    /// Appends the mapped form of `bytes` to `out` (UTF-8).
    @inline(__always)
    static func map(_ bytes: ArraySlice<UInt8>, into out: inout [UInt8]) {
        for b in bytes {
            let u = byteToUTF8[Int(b)]
            out.append(u[0])
            if u.count > 1 { out.append(u[1]) }
        }
    }

    /// The bytes a token stands for, or nil when the token contains a character outside the
    /// 256-character alphabet (HF then uses the token's own UTF-8 bytes, e.g. for added tokens).
    static func unmap(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for s in token.unicodeScalars {
            guard s.value < 0x144 else { return nil }
            let b = scalarToByte[Int(s.value)]
            guard b >= 0 else { return nil }
            out.append(UInt8(b))
        }
        return out
    }
}
