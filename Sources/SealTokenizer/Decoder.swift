import SealCore

/// The `decoder` of a tokenizer.json: turns the token strings of a list of ids back into text.
///
/// Each decoder maps a list of token strings to a new list (HF's `decode_chain`), so that a
/// `Sequence` can chain them; the final text is the concatenation of the last list.
indirect enum Decoder {
    /// Stand-in characters back to bytes, then UTF-8 with invalid sequences replaced by U+FFFD.
    case byteLevel
    case replace(TextPattern, [UInt8])
    /// `<0xNN>` tokens back to bytes (SentencePiece byte fallback).
    case byteFallback
    /// Concatenates all tokens into one.
    case fuse
    /// Removes up to `start` leading and `stop` trailing `content` characters from each token.
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case sequence([Decoder])

    static let supported = "ByteLevel, Replace, ByteFallback, Fuse, Strip, Sequence"

    static func parse(_ node: JSONNode) throws -> Decoder {
        let type = try node.type()
        switch type {
        case "ByteLevel": return .byteLevel
        case "Replace":
            return .replace(try TextPattern.parse(try node.required("pattern")),
                            Array(try node.required("content").string().utf8))
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Strip":
            let c = try node.required("content")
            let scalars = Array(try c.string().unicodeScalars)
            guard scalars.count == 1 else { throw c.error(.invalidValue, "expected a single character") }
            let start = try node.optional("start")?.uint32() ?? 0
            let stop = try node.optional("stop")?.uint32() ?? 0
            return .strip(content: scalars[0], start: start, stop: stop)
        case "Sequence":
            return .sequence(try node.required("decoders").array().map(Decoder.parse))
        default:
            throw node.error(.unsupported, "unsupported decoder type '\(type)' (supported: \(supported))")
        }
    }

    func decode(_ tokens: [String]) -> String {
        decodeChain(tokens).joined()
    }

    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case .sequence(let ds):
            var t = tokens
            for d in ds { t = d.decodeChain(t) }
            return t
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens {
                // A token with a character outside the byte alphabet (an added token such as
                // "<|im_start|>" is inside it; one with a space or CJK is not) contributes its
                // own UTF-8, as in HF.
                if let b = ByteLevel.unmap(t) { bytes += b } else { bytes += t.utf8 }
            }
            // Lossy decoding: each maximal invalid subsequence becomes one U+FFFD, as Rust's
            // `String::from_utf8_lossy`.
            return [String(decoding: bytes, as: UTF8.self)]
        case .replace(let pattern, let content):
            return tokens.map { String(decoding: pattern.replace(in: Array($0.utf8), with: content), as: UTF8.self) }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if isValidUTF8(pending) {
                    out.append(String(decoding: pending, as: UTF8.self))
                } else {
                    // Unlike ByteLevel, HF emits one U+FFFD per byte of an invalid run.
                    out.append(contentsOf: repeatElement("\u{FFFD}", count: pending.count))
                }
                pending.removeAll()
            }
            for t in tokens {
                if let b = Decoder.fallbackByte(t) {
                    pending.append(b)
                } else {
                    flush()
                    out.append(t)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                let chars = Array(token.unicodeScalars)
                var lo = 0
                while lo < min(start, chars.count), chars[lo] == content { lo += 1 }
                var hi = chars.count
                var removed = 0
                while removed < stop, hi > lo, chars[hi - 1] == content { hi -= 1; removed += 1 }
                if lo == 0, hi == chars.count { return token }
                var v = String.UnicodeScalarView()
                v.append(contentsOf: chars[lo..<hi])
                return String(v)
            }
        }
    }

    /// The bytes one token contributes mid-sequence (`Tokenizer.tokenBytes`): each decoder's per-token effect
    /// in order; `Fuse` and `Strip` act on the joined text, so they leave a single token as it is.
    func pieceBytes(_ token: [UInt8]) -> [UInt8] {
        switch self {
        case .sequence(let ds): return ds.reduce(token) { $1.pieceBytes($0) }
        case .byteLevel:
            let s = String(decoding: token, as: UTF8.self)
            return ByteLevel.unmap(s) ?? token
        case .replace(let pattern, let content): return pattern.replace(in: token, with: content)
        case .byteFallback: return Decoder.fallbackByte(String(decoding: token, as: UTF8.self)).map { [$0] } ?? token
        case .fuse, .strip: return token
        }
    }

    /// The byte of a `<0xNN>` token (HF: 6 bytes, `<0x` prefix, `>` suffix, `u8::from_str_radix`
    /// of the two middle characters, which also accepts a leading `+`).
    static func fallbackByte(_ token: String) -> UInt8? {
        let u = Array(token.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x41...0x46: return c - 0x41 + 10
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        if u[3] == 0x2B { return hex(u[4]) }
        guard let hi = hex(u[3]), let lo = hex(u[4]) else { return nil }
        return hi << 4 | lo
    }
}
