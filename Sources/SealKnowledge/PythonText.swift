/// Python's `str` semantics that SEAL's self-edit rule depends on, on Unicode scalars (Python strings are sequences
/// of code points; Swift's `Character`s are grapheme clusters, which would keep "\r\n" or a newline plus a
/// combining mark together and split a line differently). Kept to what the rule uses.
enum PythonText {
    /// `str.isspace()`: characters of bidirectional class WS, B or S, or category Zs (CPython's
    /// `_PyUnicode_IsWhitespace`). This is also what `str.strip()` removes and what `re`'s `\s` matches.
    static func isSpace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// `re`'s `\d` on str: a Unicode decimal digit (category Nd, which is Numeric_Type=Decimal).
    static func isDecimal(_ s: Unicode.Scalar) -> Bool { s.properties.numericType == .decimal }

    /// The characters `str.splitlines()` breaks at ("\r\n" is one break).
    static func isLineBreak(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029: return true
        default: return false
        }
    }

    /// `str.strip()`.
    static func strip(_ s: ArraySlice<Unicode.Scalar>) -> ArraySlice<Unicode.Scalar> {
        guard let first = s.firstIndex(where: { !isSpace($0) }) else { return s[s.endIndex...] }
        let last = s.lastIndex(where: { !isSpace($0) })!
        return s[first...last]
    }

    /// `str.lstrip()`.
    static func lstrip(_ s: ArraySlice<Unicode.Scalar>) -> ArraySlice<Unicode.Scalar> {
        guard let first = s.firstIndex(where: { !isSpace($0) }) else { return s[s.endIndex...] }
        return s[first...]
    }

    /// `str.split(sep)` for a non-empty separator: left to right, non-overlapping, empty pieces kept.
    static func split(_ s: ArraySlice<Unicode.Scalar>, separator: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var out: [ArraySlice<Unicode.Scalar>] = []
        var start = s.startIndex, i = s.startIndex
        while i + separator.count <= s.endIndex {
            if s[i..<(i + separator.count)].elementsEqual(separator) {
                out.append(s[start..<i])
                i += separator.count
                start = i
            } else {
                i += 1
            }
        }
        out.append(s[start...])
        return out
    }

    /// `str.splitlines()` (without the line ends).
    static func splitlines(_ s: ArraySlice<Unicode.Scalar>) -> [ArraySlice<Unicode.Scalar>] {
        var out: [ArraySlice<Unicode.Scalar>] = []
        var start = s.startIndex, i = s.startIndex
        while i < s.endIndex {
            if isLineBreak(s[i]) {
                out.append(s[start..<i])
                i += (s[i] == "\r" && i + 1 < s.endIndex && s[i + 1] == "\n") ? 2 : 1
                start = i
            } else {
                i += 1
            }
        }
        if start < s.endIndex { out.append(s[start...]) }
        return out
    }

    static func hasPrefix(_ s: ArraySlice<Unicode.Scalar>, _ prefix: String) -> Bool {
        s.starts(with: prefix.unicodeScalars)
    }

    static func string(_ s: ArraySlice<Unicode.Scalar>) -> String {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: s)
        return String(v)
    }
}
