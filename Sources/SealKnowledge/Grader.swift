import Foundation

/// One answer to grade: the question, its accepted gold answers (any one suffices), and the model's answer.
public struct GradeItem: Sendable, Equatable {
    public var question: String
    public var golds: [String]
    public var prediction: String
    public init(question: String, golds: [String], prediction: String) {
        self.question = question; self.golds = golds; self.prediction = prediction
    }
    public init(question: String, gold: String, prediction: String) { self.init(question: question, golds: [gold], prediction: prediction) }
}

/// A grader's decision. Judges (LLMs) also return their raw reply; a reply that says neither yes nor no (or both)
/// is `parsed == false` and counts as incorrect.
public struct GradeVerdict: Sendable, Equatable {
    public var correct: Bool
    public var parsed: Bool
    /// The judge's reply, verbatim (nil for the local grader).
    public var raw: String?
    /// The local grader's probability that GPT-4.1 would say yes.
    public var score: Double?
    public init(correct: Bool, parsed: Bool = true, raw: String? = nil, score: Double? = nil) {
        self.correct = correct; self.parsed = parsed; self.raw = raw; self.score = score
    }
}

/// Anything that grades answers: the local grader, an LLM judge run by seal, an OpenAI-compatible HTTP judge.
public protocol AnswerGrading: AnyObject {
    /// Short name for logs and metrics ("local", "llm:<model>", "http:<url>").
    var name: String { get }
    /// One verdict per item, in order. Throws only when grading itself is impossible (a server that cannot be
    /// reached), never for an answer that is merely unusual.
    func grade(_ items: [GradeItem]) throws -> [GradeVerdict]
}

/// What the local grader looks at in one (question, gold, prediction): how many of the gold's tokens the answer
/// has (all of them, and the ones the question does not already give away), whether it has them adjacent and in
/// order, character-trigram similarity of its best window (morphology), numbers, names the answer brings that
/// neither question nor gold mentions (often the wrong answer), signs that it rambles on into another question,
/// and its length. The new part of the gold is matched loosely (suffixes, small misspellings, any one of the
/// gold's alternatives), which alone moved agreement by about +0.2 point (fixing 35 cross-validated answers for
/// 15). Ten features: more (runs, first-line variants, stop-word variants, squares and interactions, and —
/// measured on the fit split — negation and coordination next to the gold, question type, hedges, "no
/// information" replies, number conflicts and tolerance, name recall, echo-aware recall) moved cross-validated
/// agreement by less than its noise (±0.2 point), so they are left out.
/// Names are stable: fitted weights are stored by position in `names`.
public struct AnswerFeatures {
    public static let names = [
        "contain", "recall", "recall_new", "gold_number", "numbers_all", "new_fraction", "dice", "rambles",
        "other_names", "log_pred_len",
    ]

    static let stopWords: Set<String> = Set(("of in on at to for by with and or from as is was were be been are its it this that these those his her "
        + "their he she they which who what when where how why whom whose into than then there").split(separator: " ").map(String.init))
    /// The answer goes on into a new question or passage (base models continue their few-shot format): the
    /// regular expression `\n\s*(Q\s*:|Question\s*:|Passage\s*:|Topic\s*:|Answer\s*:|A\s*:|Context\s*:)|Q:\s*(Passage|Context|Topic)`
    /// (the test keeps it as the reference), decided in one pass: the regex engine restarted `\n\s*` at every
    /// newline of a run, quadratic in the run (200,000 newlines took over a minute).
    public static func rambles(_ p: String) -> Bool {
        let s = Array(p.unicodeScalars)
        let n = s.count
        func white(_ i: Int) -> Bool { s[i].properties.isWhitespace }
        /// `word` then optional white space then ":" at i.
        func labelled(_ i: Int, _ word: String) -> Bool {
            var j = i
            for c in word.unicodeScalars { guard j < n, s[j] == c else { return false }; j += 1 }
            while j < n, white(j) { j += 1 }
            return j < n && s[j] == ":"
        }
        func starts(_ i: Int, _ word: String) -> Bool {
            var j = i
            for c in word.unicodeScalars { guard j < n, s[j] == c else { return false }; j += 1 }
            return true
        }
        var i = 0
        while i < n {
            if s[i] == "\n" {
                // The white space after this newline (the rest of its run); the labels start with letters, so only
                // the end of the run can start one, and later newlines of the same run end there too.
                var j = i + 1
                while j < n, white(j) { j += 1 }
                for w in ["Q", "Question", "Passage", "Topic", "Answer", "A", "Context"] where labelled(j, w) { return true }
                // The run holds no "Q:" (it is all white space): resume after it.
                i = j
                continue
            }
            if s[i] == "Q", i + 1 < n, s[i + 1] == ":" {
                var j = i + 2
                while j < n, white(j) { j += 1 }
                for w in ["Passage", "Context", "Topic"] where starts(j, w) { return true }
            }
            i += 1
        }
        return false
    }

    /// A token with what the matching needs precomputed.
    struct Tok {
        let text: String
        let bytes: [UInt8]
        let isNumber: Bool
        let scalars: [UInt32]
        let stem: [UInt32]
        init(_ t: String) {
            text = t; bytes = Array(t.utf8); isNumber = AnswerText.isNumber(t)
            scalars = t.unicodeScalars.map(\.value)
            stem = isNumber ? scalars : AnswerText.stem(scalars)
        }
        func matches(_ o: Tok) -> Bool {
            if bytes == o.bytes { return true }
            if isNumber || o.isNumber { return false }
            return AnswerText.prefixMatch(bytes, o.bytes)
        }
        /// `matches`, or the same stem ("symbolically" / "symbols"), or (words of 5 letters or more) a spelling
        /// within one edit per 5 letters ("Tsakhiagin" / "Tsakhiagian").
        func matchesLoosely(_ o: Tok) -> Bool {
            if matches(o) { return true }
            if isNumber || o.isNumber { return false }
            if stem == o.stem { return true }
            let n = min(scalars.count, o.scalars.count)
            return n >= 5 && AnswerText.editDistance(scalars, o.scalars, atMost: max(1, n / 5)) <= max(1, n / 5)
        }
    }

    public static func compute(question: String, gold: String, prediction: String) -> [Double] {
        let p = prediction.trimmingCharacters(in: .whitespacesAndNewlines)
        let gs = AnswerText.tokens(gold), ps = AnswerText.tokens(p)
        let G = gs.map(Tok.init), P = ps.map(Tok.init)
        let Q = Set(AnswerText.tokens(question))
        // Content words of the gold, then those the question does not already contain ("height limits" asked
        // about "building heights": only "limits" tells).
        var Gc = G.filter { !stopWords.contains($0.text) }
        if Gc.isEmpty { Gc = G }
        var Gn = Gc.filter { !Q.contains($0.text) }
        if Gn.isEmpty { Gn = Gc }
        let goldNumbers = gs.filter(AnswerText.isNumber)
        let predNumbers = Set(ps.filter(AnswerText.isNumber))

        var f = [Double](repeating: 0, count: names.count)
        f[0] = contains(ps, gs) ? 1 : 0
        f[1] = recall(P, G)
        // The new part of the gold, matched loosely, and of its best alternative when it offers several
        // ("breast milk or colostrum", "probabilistic (or Monte Carlo)"): any one of them conveys it.
        f[2] = alternatives(gold).map { alt -> Double in
            let A = alt == gold ? G : AnswerText.tokens(alt).map(Tok.init)
            var Ac = A.filter { !stopWords.contains($0.text) }
            if Ac.isEmpty { Ac = A }
            var An = Ac.filter { !Q.contains($0.text) }
            if An.isEmpty { An = Ac }
            return recall(P, An, loosely: true)
        }.max() ?? 0
        f[3] = goldNumbers.isEmpty ? 0 : 1
        f[4] = !goldNumbers.isEmpty && goldNumbers.allSatisfy(predNumbers.contains) ? 1 : 0
        f[5] = Double(Gn.count) / Double(max(1, G.count))
        f[6] = bestWindowDice(ps, Gn.map(\.text))
        f[7] = rambles(p) ? 1 : 0
        f[8] = log(1 + Double(otherNames(p, known: Q.union(gs))))
        f[9] = log(1 + Double(P.count))
        return f
    }

    /// The gold's tokens appear in the answer, in order and adjacent (exact tokens). Knuth–Morris–Pratt over tokens:
    /// linear in answer + gold (trying every start was their product).
    public static func contains(_ p: [String], _ g: [String]) -> Bool {
        guard !g.isEmpty, p.count >= g.count else { return false }
        var fail = [Int](repeating: 0, count: g.count)
        var k = 0
        for i in 1..<max(1, g.count) where g.count > 1 {
            while k > 0 && g[i] != g[k] { k = fail[k - 1] }
            if g[i] == g[k] { k += 1 }
            fail[i] = k
        }
        k = 0
        for t in p {
            while k > 0 && t != g[k] { k = fail[k - 1] }
            if t == g[k] { k += 1 }
            if k == g.count { return true }
        }
        return false
    }

    /// Fraction of the gold's tokens matched by distinct answer tokens (`AnswerText.tokensMatch`; loosely:
    /// `Tok.matchesLoosely`): each gold token, in order, takes the first answer token not yet taken that matches it.
    ///
    /// Matching depends only on the two texts, so it is decided once per pair of distinct texts, and the answer's
    /// positions are kept per distinct text in order: the first free matching position is the smallest head among
    /// the texts that match. Same result as scanning the answer for every gold token (answer × gold: a long gold
    /// against a long answer took minutes), in time of distinct texts × distinct texts plus the lengths.
    static func recall(_ p: [Tok], _ g: [Tok], loosely: Bool = false) -> Double {
        guard !g.isEmpty else { return 0 }
        // A short gold (every real one): the plain scan, cheaper than indexing the answer.
        if g.count <= 32 {
            var used = [Bool](repeating: false, count: p.count)
            var hit = 0
            for w in g {
                if let j = p.indices.first(where: { !used[$0] && (loosely ? w.matchesLoosely(p[$0]) : w.matches(p[$0])) }) { used[j] = true; hit += 1 }
            }
            return Double(hit) / Double(g.count)
        }
        // The answer's distinct texts (by bytes: `matches` compares bytes, and Swift's String equality would merge
        // canonically equivalent spellings), each with its positions in order.
        var classOf: [[UInt8]: Int] = [:]
        var reps: [Tok] = []
        var positions: [[Int]] = []
        for (j, t) in p.enumerated() {
            if let c = classOf[t.bytes] { positions[c].append(j) } else {
                classOf[t.bytes] = reps.count
                reps.append(t)
                positions.append([j])
            }
        }
        let index = CandidateIndex(reps, loosely: loosely)
        var head = [Int](repeating: 0, count: reps.count)
        var matching: [[UInt8]: [Int]] = [:]
        var hit = 0
        for w in g {
            let classes: [Int]
            if let m = matching[w.bytes] { classes = m } else {
                classes = index.candidates(w).filter { loosely ? w.matchesLoosely(reps[$0]) : w.matches(reps[$0]) }
                matching[w.bytes] = classes
            }
            var best = -1
            for c in classes where head[c] < positions[c].count {
                if best < 0 || positions[c][head[c]] < positions[best][head[best]] { best = c }
            }
            if best >= 0 { head[best] += 1; hit += 1 }
        }
        return Double(hit) / Double(g.count)
    }

    /// The answer texts that can match a gold token, found without comparing it with every one: a superset of
    /// those `Tok.matches` (loosely: `matchesLoosely`) accepts, from what each kind of match implies.
    /// - equal bytes: the text itself;
    /// - `prefixMatch`: a common prefix of at least 4 bytes, so the same first 4 bytes;
    /// - the same stem (loosely): the stem itself;
    /// - a near spelling (loosely; both of 5 letters or more, at most k = max(1, n/5) edits with n the shorter
    ///   length, lengths within 3): the q-gram lemma — k edits destroy at most 2k of a word's |x| − 1 letter pairs,
    ///   so the two share at least |x| − 1 − 2k pairs counted with multiplicity (k taken at its largest, |x|/5).
    struct CandidateIndex {
        let count: Int
        let loosely: Bool
        var byBytes: [[UInt8]: Int] = [:]
        var byPrefix4: [[UInt8]: [Int]] = [:]
        var byStem: [[UInt32]: [Int]] = [:]
        var byPair: [UInt64: [(text: Int, count: Int)]] = [:]
        var lengths: [Int] = []

        static func pairs(_ s: [UInt32]) -> [UInt64: Int] {
            var c: [UInt64: Int] = [:]
            if s.count >= 2 { for i in 0..<(s.count - 1) { c[UInt64(s[i]) << 32 | UInt64(s[i + 1]), default: 0] += 1 } }
            return c
        }

        init(_ reps: [Tok], loosely: Bool) {
            count = reps.count
            self.loosely = loosely
            for (i, t) in reps.enumerated() {
                byBytes[t.bytes] = i
                if t.bytes.count >= 4 { byPrefix4[Array(t.bytes.prefix(4)), default: []].append(i) }
                if loosely {
                    lengths.append(t.scalars.count)
                    if !t.isNumber { byStem[t.stem, default: []].append(i) }
                    if t.scalars.count >= 5 { for (pair, n) in Self.pairs(t.scalars) { byPair[pair, default: []].append((i, n)) } }
                }
            }
        }

        func candidates(_ w: Tok) -> [Int] {
            var out = Set<Int>()
            if let i = byBytes[w.bytes] { out.insert(i) }
            if w.bytes.count >= 4, let l = byPrefix4[Array(w.bytes.prefix(4))] { out.formUnion(l) }
            if loosely {
                if !w.isNumber, let l = byStem[w.stem] { out.formUnion(l) }
                let x = w.scalars.count
                if x >= 5 {
                    let need = x - 1 - 2 * max(1, x / 5)
                    if need <= 0 {
                        for i in 0..<count where lengths[i] >= 5 && abs(lengths[i] - x) <= 3 { out.insert(i) }
                    } else {
                        var shared: [Int: Int] = [:]
                        for (pair, n) in Self.pairs(w.scalars) {
                            for (i, m) in byPair[pair] ?? [] { shared[i, default: 0] += min(n, m) }
                        }
                        for (i, s) in shared where s >= need && abs(lengths[i] - x) <= 3 { out.insert(i) }
                    }
                }
            }
            return out.sorted()
        }
    }

    /// `recall` on token texts (for tests and analysis).
    public static func recall(answer: [String], gold: [String], loosely: Bool = false) -> Double {
        recall(answer.map(Tok.init), gold.map(Tok.init), loosely: loosely)
    }

    /// Whether two token texts match as the loose recall matches them.
    public static func tokensMatchLoosely(_ a: String, _ b: String) -> Bool { Tok(a).matchesLoosely(Tok(b)) }

    static let parenthesised = try! NSRegularExpression(pattern: #"\([^)]*\)"#)
    static let alternativeSeparator = try! NSRegularExpression(pattern: #"\s+or\s+|;|/"#)

    /// The gold, then the gold without its parenthesised asides, then its parts when "or", ";" or "/" divides it
    /// into alternatives (each part alone answers the question as well as the whole).
    public static func alternatives(_ g: String) -> [String] {
        var alts = [g]
        let ns = g as NSString, whole = NSRange(location: 0, length: ns.length)
        let bare = parenthesised.stringByReplacingMatches(in: g, range: whole, withTemplate: " ").trimmingCharacters(in: .whitespacesAndNewlines)
        if !bare.isEmpty && bare != g { alts.append(bare) }
        var parts: [String] = [], start = 0
        for m in alternativeSeparator.matches(in: g, range: whole) {
            parts.append(ns.substring(with: NSRange(location: start, length: m.range.location - start)))
            start = m.range.location + m.range.length
        }
        if !parts.isEmpty {
            parts.append(ns.substring(from: start))
            alts += parts.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        }
        return alts
    }

    /// Trigram keys packed three scalars to a key.
    @inline(__always) static func key(_ a: UInt32, _ b: UInt32, _ c: UInt32) -> UInt64 { UInt64(a) << 42 | UInt64(b) << 21 | UInt64(c) }

    /// Character trigrams of tokens joined by spaces with a space at each end, packed three scalars to a key.
    static func trigrams(_ ws: ArraySlice<String>) -> [UInt64: Int] {
        var s: [UInt32] = [32]
        for (k, w) in ws.enumerated() {
            if k > 0 { s.append(32) }
            s += w.unicodeScalars.map(\.value)
        }
        s.append(32)
        var c: [UInt64: Int] = [:]
        if s.count >= 3 { for i in 0...(s.count - 3) { c[key(s[i], s[i + 1], s[i + 2]), default: 0] += 1 } }
        return c
    }

    /// Best Dice similarity of character trigrams between the gold and any window of the answer of about the
    /// gold's length (catches "deeper voice" in "deepening of the voice").
    ///
    /// The trigrams of a window " w1 w2 … wL " are those of each " wk " plus one across each inner space
    /// (last letter of wk, space, first letter of wk+1), so the window slides in time proportional to the two
    /// tokens it drops and adds: linear in the answer (recounting every window was answer × gold: a 100-token gold
    /// against a 32k-word answer took 12 s). The counts, hence every Dice value and the maximum, are those of
    /// recounting (`AnswerFeaturesTests` compares with the recounting definition).
    public static func bestWindowDice(_ p: [String], _ g: [String]) -> Double {
        guard !g.isEmpty, !p.isEmpty else { return 0 }
        let tg = trigrams(g[...])
        let tgCount = tg.values.reduce(0, +)
        let sc = p.map { $0.unicodeScalars.map(\.value) }
        // Each token's own trigrams (of " w "), and the one across the space after it.
        let own: [[UInt64]] = sc.map { w in
            let s = [32] + w + [32]
            return (0...(s.count - 3)).map { key(s[$0], s[$0 + 1], s[$0 + 2]) }
        }
        let cross: [UInt64] = (0..<max(0, sc.count - 1)).map { key(sc[$0].last!, 32, sc[$0 + 1].first!) }
        var best = 0.0
        for L in Set([max(1, g.count - 1), g.count, g.count + 1, g.count + 2]) {
            var tp: [UInt64: Int] = [:]
            var inter = 0, total = 0
            func add(_ k: UInt64) {
                let c = tp[k, default: 0]
                tp[k] = c + 1
                total += 1
                if let u = tg[k], c < u { inter += 1 }
            }
            func remove(_ k: UInt64) {
                let c = tp[k]!
                tp[k] = c - 1
                total -= 1
                if let u = tg[k], c <= u { inter -= 1 }
            }
            let first = min(p.count, L)
            for t in 0..<first {
                own[t].forEach(add)
                if t + 1 < first { add(cross[t]) }
            }
            for i in 0..<max(1, p.count - L + 1) {
                if i > 0 {
                    // Slide: drop token i-1 (and its join to i), add token i+L-1 (and its join from i+L-2).
                    own[i - 1].forEach(remove)
                    if L > 1 { remove(cross[i - 1]) }
                    own[i + L - 1].forEach(add)
                    if L > 1 { add(cross[i + L - 2]) }
                }
                let d = 2 * Double(inter) / Double(tgCount + total)
                if d > best { best = d }
            }
        }
        return best
    }

    /// Capitalised words inside sentences (names) that neither the question nor the gold contains: an answer
    /// naming other entities is often naming the wrong one.
    static func otherNames(_ p: String, known: Set<String>) -> Int {
        var n = 0
        var previousEndsSentence = true
        for raw in p.split(whereSeparator: { $0.isWhitespace }) {
            let word = raw.drop { !$0.isLetter && !$0.isNumber }
            defer { previousEndsSentence = raw.last.map { ".!?".contains($0) } ?? false }
            guard !previousEndsSentence, let c0 = word.first, c0.isUppercase else { continue }
            guard word.count >= 2, word.dropFirst().first!.isLowercase else { continue }
            let letters = String(word.prefix { $0.isLetter }).lowercased()
            if !known.contains(letters) && !known.contains(AnswerText.tokens(letters).first ?? letters) { n += 1 }
        }
        return n
    }
}

/// A logistic model over `AnswerFeatures`: P(GPT-4.1 says yes) = σ(w·x + b), correct when ≥ threshold.
public struct GraderModel: Sendable, Equatable {
    public var weights: [Double]
    public var bias: Double
    public var threshold: Double
    public init(weights: [Double], bias: Double, threshold: Double) {
        self.weights = weights; self.bias = bias; self.threshold = threshold
    }

    public func probability(_ x: [Double]) -> Double {
        var z = bias
        for (w, v) in zip(weights, x) { z += w * v }
        return 1 / (1 + exp(-z))
    }

    /// Fits by Newton's method on the L2-regularised logistic loss (intercept unpenalised), then sets the threshold
    /// so that the grader's accuracy on the fitting set equals the reference's (no bias where it was fitted):
    /// the midpoint between the k-th and (k+1)-th highest probabilities, k = the number of yes labels.
    public static func fit(features xs: [[Double]], labels: [Bool], l2: Double = 1e-3, iterations: Int = 30) -> GraderModel {
        precondition(!xs.isEmpty && xs.count == labels.count)
        let d = xs[0].count + 1
        var w = [Double](repeating: 0, count: d)
        let n = Double(xs.count)
        for _ in 0..<iterations {
            var g = [Double](repeating: 0, count: d)
            var h = [Double](repeating: 0, count: d * d)
            for (x, y) in zip(xs, labels) {
                let row = x + [1]
                var z = 0.0
                for k in 0..<d { z += w[k] * row[k] }
                let p = 1 / (1 + exp(-z))
                let r = p - (y ? 1 : 0), s = p * (1 - p)
                for a in 0..<d {
                    g[a] += r * row[a] / n
                    let sa = s * row[a] / n
                    for b in a..<d { h[a * d + b] += sa * row[b] }
                }
            }
            for a in 0..<d { for b in 0..<a { h[a * d + b] = h[b * d + a] } }
            for a in 0..<(d - 1) { g[a] += l2 * w[a]; h[a * d + a] += l2 }
            h[(d - 1) * d + (d - 1)] += 1e-9
            let step = solve(h, g, d)
            for k in 0..<d { w[k] -= step[k] }
        }
        var model = GraderModel(weights: Array(w[0..<(d - 1)]), bias: w[d - 1], threshold: 0.5)
        let ps = xs.map(model.probability).sorted(by: >)
        let k = labels.filter { $0 }.count
        if k == 0 { model.threshold = ps[0] + 1e-9 } else if k >= ps.count { model.threshold = ps[ps.count - 1] } else { model.threshold = (ps[k - 1] + ps[k]) / 2 }
        return model
    }

    /// Solves the symmetric positive-definite system a·x = b (Gaussian elimination with partial pivoting).
    static func solve(_ a: [Double], _ b: [Double], _ d: Int) -> [Double] {
        var m = a, v = b
        for c in 0..<d {
            var piv = c
            for r in (c + 1)..<d where abs(m[r * d + c]) > abs(m[piv * d + c]) { piv = r }
            if piv != c {
                for k in 0..<d { m.swapAt(c * d + k, piv * d + k) }
                v.swapAt(c, piv)
            }
            let diag = m[c * d + c]
            for r in (c + 1)..<d {
                let f = m[r * d + c] / diag
                if f == 0 { continue }
                for k in c..<d { m[r * d + k] -= f * m[c * d + k] }
                v[r] -= f * v[c]
            }
        }
        var x = [Double](repeating: 0, count: d)
        for c in stride(from: d - 1, through: 0, by: -1) {
            var s = v[c]
            for k in (c + 1)..<d { s -= m[c * d + k] * x[k] }
            x[c] = s / m[c * d + c]
        }
        return x
    }
}

/// The grader that needs no service: `GraderModel` over `AnswerFeatures`, fitted to GPT-4.1's verdicts on the
/// calibration part of SEAL's query_server results (see `Verdicts`); an answer is correct when any gold answer
/// passes.
public final class LocalGrader: AnswerGrading {
    public let model: GraderModel
    public var name: String { "local" }

    public init(model: GraderModel = LocalGrader.calibrated) { self.model = model }

    public func probability(question: String, gold: String, prediction: String) -> Double {
        model.probability(AnswerFeatures.compute(question: question, gold: gold, prediction: prediction))
    }

    public func verdict(_ item: GradeItem) -> GradeVerdict {
        let p = item.golds.map { probability(question: item.question, gold: $0, prediction: item.prediction) }.max() ?? 0
        return GradeVerdict(correct: p >= model.threshold, score: p)
    }

    public func grade(_ items: [GradeItem]) throws -> [GradeVerdict] { items.map(verdict) }

    /// Fitted by `seal knowledge grade --verdicts ../shared/.../query_server --fit` on the calibration split only
    /// (passages whose hash puts them outside the held-out third); `LocalGraderTests` refits and compares.
    public static let calibrated = GraderModel(
        weights: [1.049998710617444, 0.92564517672444901, 1.646261488247031, -0.68296553712284036, 0.93932422056792708,
                  0.1710996848639966, 1.6304263401930081, -0.77906781354152488, -0.48332917435854367, 0.054762300368207006],
        bias: -2.7697295919612324, threshold: 0.38736422272804572)
}

/// The plain SQuAD-style rule, for comparison and for runs that want a transparent one: correct when the
/// normalised tokens of a gold answer appear, adjacent and in order, in the normalised answer.
public final class ContainmentGrader: AnswerGrading {
    public var name: String { "contains" }
    public init() {}
    public func grade(_ items: [GradeItem]) throws -> [GradeVerdict] {
        items.map { item in
            let p = AnswerText.tokens(item.prediction)
            return GradeVerdict(correct: item.golds.contains { AnswerFeatures.contains(p, AnswerText.tokens($0)) })
        }
    }
}

/// The containment rule for one answer (what `ContainmentGrader` applies): the normalised tokens of `gold` appear,
/// adjacent and in order, in the normalised prediction.
public enum AnswerGrader {
    public static func isCorrect(prediction: String, gold: String) -> Bool {
        let g = AnswerText.tokens(gold)
        return !g.isEmpty && AnswerFeatures.contains(AnswerText.tokens(prediction), g)
    }
}
