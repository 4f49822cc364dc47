import Foundation

/// Normalisation of short answers into comparable tokens, SQuAD style and a little further: lower case, accents
/// and compatibility forms folded (NFKD), punctuation and symbols dropped, articles dropped — and the variants that
/// plain SQuAD normalisation misses: thousands separators ("1,000" = "1000"), decimals kept ("3.5"), dotted
/// acronyms ("U.S." = "us"), possessives ("Luther's" = "luther"), number words ("twenty-five" = "25"), ordinals
/// ("first" = "1st" = "1"), decade and ordinal suffixes ("1960s", "19th" → the number), month names
/// ("September" = "sep"), "BCE" = "BC", "percent" = "%".
public enum AnswerText {
    static let articles: Set<String> = ["a", "an", "the"]
    static let numberWords: [String: Int] = [
        "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
        "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
        "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
        "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    ]
    static let ordinalWords: [String: Int] = [
        "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
        "ninth": 9, "tenth": 10,
    ]
    static let months: [String: String] = [
        "january": "jan", "february": "feb", "march": "mar", "april": "apr", "june": "jun", "july": "jul",
        "august": "aug", "september": "sep", "sept": "sep", "october": "oct", "november": "nov", "december": "dec",
    ]
    static let synonyms: [String: String] = ["bce": "bc", "percent": "%"]

    /// The normalised answer as one string (tokens joined by single spaces).
    public static func normalize(_ s: String) -> String { tokens(s).joined(separator: " ") }

    /// The normalised tokens of a text.
    public static func tokens(_ s: String) -> [String] {
        let folded = String(String.UnicodeScalarView(
            s.lowercased().decomposedStringWithCompatibilityMapping.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }))
        // Dotted acronyms first, while the dots still tell them apart: "u.s.a." → "usa".
        let chunks = folded.split(omittingEmptySubsequences: false, whereSeparator: { $0 == " " }).map { chunk -> String in
            let core = chunk.trimmingCharacters(in: CharacterSet(charactersIn: "\"'()[],;:“”‘’"))
            if isDottedAcronym(core) { return chunk.replacingOccurrences(of: core, with: core.replacingOccurrences(of: ".", with: "")) }
            if let date = isoDate(core) { return chunk.replacingOccurrences(of: core, with: date) }
            return String(chunk)
        }
        let scalars = Array(chunks.joined(separator: " ").unicodeScalars)
        var out = String.UnicodeScalarView()
        func isDigit(_ i: Int) -> Bool { i >= 0 && i < scalars.count && scalars[i].properties.numericType == .decimal && scalars[i].isASCII }
        func isLetter(_ i: Int) -> Bool { i >= 0 && i < scalars.count && scalars[i].properties.isAlphabetic }
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            if c == "," && isDigit(i - 1) && isDigit(i + 1) && isDigit(i + 2) && isDigit(i + 3) { i += 1; continue }
            if c == "." && isDigit(i - 1) && isDigit(i + 1) { out.append(c); i += 1; continue }
            if c == "%" { out.append(contentsOf: " % ".unicodeScalars); i += 1; continue }
            if c == "'" || c == "\u{2019}" || c == "\u{02BC}" {
                // "'s" at the end of a word is a possessive: dropped; any other apostrophe joins ("don't" → "dont").
                if i + 1 < scalars.count && scalars[i + 1] == "s" && !isLetter(i + 2) && isLetter(i - 1) { i += 2; continue }
                i += 1; continue
            }
            let cat = c.properties.generalCategory
            switch cat {
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
                 .finalPunctuation, .otherPunctuation, .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
                out.append(" ")
            default:
                out.append(c.properties.isWhitespace ? " " : c)
            }
            i += 1
        }
        var words: [String] = []
        var lastWasTensWord = false
        for w in String(out).split(separator: " ") {
            var word = String(w)
            if articles.contains(word) { lastWasTensWord = false; continue }
            var fromWord = false
            if let n = numberWords[word] {
                // "twenty five" (from "twenty-five") is one number.
                if lastWasTensWord, n >= 1, n <= 9, let prev = Int(words[words.count - 1]) {
                    words[words.count - 1] = String(prev + n)
                    lastWasTensWord = false
                    continue
                }
                word = String(n); fromWord = true
                lastWasTensWord = n >= 20
            } else if let n = ordinalWords[word] {
                word = String(n)
            } else if let m = months[word] {
                word = m
            } else if let s = synonyms[word] {
                word = s
            } else if let n = numberWithSuffix(word) {
                word = n
            }
            if !fromWord { lastWasTensWord = false }
            // "2 million" = "2,000,000", "2.5 billion" = "2500000000".
            if let zeros = scaleWords[word], let prev = words.last, isNumber(prev), let n = scaled(prev, zeros: zeros) {
                words[words.count - 1] = n
                lastWasTensWord = false
                continue
            }
            words.append(word)
        }
        return words
    }

    static let scaleWords: [String: Int] = ["hundred": 2, "thousand": 3, "million": 6, "billion": 9, "trillion": 12]
    static let monthAbbreviations = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// A number times 10^zeros, written without exponent ("2.5", 6 → "2500000"); nil when it would keep a fraction.
    static func scaled(_ n: String, zeros: Int) -> String? {
        let parts = n.split(separator: ".", omittingEmptySubsequences: false)
        let whole = String(parts[0]), frac = parts.count > 1 ? String(parts[1]) : ""
        guard frac.count <= zeros else { return nil }
        let digits = whole + frac + String(repeating: "0", count: zeros - frac.count)
        // Leading zeros off in one cut (removing them one at a time was quadratic in a long run of zeros).
        let nonZero = digits.firstIndex { $0 != "0" } ?? digits.index(before: digits.endIndex)
        return String(digits[nonZero...])
    }

    /// "1525-05-15" → "may 15 1525" (the order the other normalisations give "May 15, 1525").
    static func isoDate(_ s: String) -> String? {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, (1...2).contains(parts[1].count), (1...2).contains(parts[2].count),
              parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]), (1...12).contains(m), (1...31).contains(d) else { return nil }
        return "\(monthAbbreviations[m - 1]) \(d) \(y)"
    }

    static func isDottedAcronym(_ s: String) -> Bool {
        // Two or more single letters each followed by a dot, the last dot optional: "u.s.", "u.s", "d.c."
        let cs = Array(s)
        guard cs.count >= 3 else { return false }
        var i = 0, letters = 0
        while i < cs.count {
            guard cs[i].isLetter else { return false }
            letters += 1
            i += 1
            if i == cs.count { break }
            guard cs[i] == "." else { return false }
            i += 1
        }
        return letters >= 2
    }

    /// "1960s", "19th", "1st", "2nd", "3rd" → the number; nil for anything else.
    static func numberWithSuffix(_ w: String) -> String? {
        for suffix in ["st", "nd", "rd", "th", "s"] where w.hasSuffix(suffix) {
            let head = w.dropLast(suffix.count)
            if !head.isEmpty && head.allSatisfy({ $0.isASCII && $0.isNumber }) { return String(head) }
        }
        return nil
    }

    /// An integer or decimal token.
    public static func isNumber(_ w: String) -> Bool {
        var seenDigit = false, seenDot = false, lastDot = false
        for c in w {
            if c.isASCII && c.isNumber { seenDigit = true; lastDot = false } else if c == "." && seenDigit && !seenDot { seenDot = true; lastDot = true } else { return false }
        }
        return seenDigit && !lastDot
    }

    /// Two tokens name the same thing: equal, or (for words, never numbers) the same word with another ending
    /// ("journalist" / "journalism", "students" / "student"): a common prefix of at least 4 letters that leaves at
    /// most 3 letters of the shorter word and covers at least 60 % of the longer.
    public static func tokensMatch(_ a: String, _ b: String) -> Bool {
        if a == b { return true }
        if isNumber(a) || isNumber(b) { return false }
        return prefixMatch(Array(a.utf8), Array(b.utf8))
    }

    /// Common English suffixes, longest first: `stem` removes the first that leaves at least 3 letters.
    static let suffixes: [[UInt32]] = ["ically", "ations", "ation", "ities", "ments", "ingly", "ness", "ment", "ings", "edly", "ical",
                                       "ity", "ing", "ies", "ers", "ive", "ous", "ed", "es", "er", "ly", "al", "ic", "s", "e", "y"]
        .map { $0.unicodeScalars.map(\.value) }

    /// A crude stem of a word (Unicode scalar values): one common suffix off, then a doubled final consonant
    /// undone ("symbolically" → "symbol", "symbols" → "symbol", "planned" → "plan"); words of 3 letters or
    /// fewer as they are.
    public static func stem(_ w: [UInt32]) -> [UInt32] {
        guard w.count > 3 else { return w }
        var s = w
        for suffix in suffixes where s.count - suffix.count >= 3 && s.suffix(suffix.count).elementsEqual(suffix) {
            s.removeLast(suffix.count)
            break
        }
        if s.count >= 2, s[s.count - 1] == s[s.count - 2], !"lsz".unicodeScalars.contains(where: { $0.value == s[s.count - 1] }) { s.removeLast() }
        return s
    }

    /// Levenshtein distance between two scalar sequences; more than `atMost` (without computing it) when their
    /// lengths differ by more than 3.
    public static func editDistance(_ a: [UInt32], _ b: [UInt32], atMost: Int) -> Int {
        if abs(a.count - b.count) > 3 { return max(atMost + 1, abs(a.count - b.count)) }
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var prev = Array(0...b.count), cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count { cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)) }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }

    static func prefixMatch(_ x: [UInt8], _ y: [UInt8]) -> Bool {
        let n = min(x.count, y.count)
        if n < 4 { return false }
        var k = 0
        while k < n && x[k] == y[k] { k += 1 }
        return k >= max(4, n - 3) && Double(k) >= 0.6 * Double(max(x.count, y.count))
    }
}
