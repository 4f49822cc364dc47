import Foundation
import XCTest
import SealTokenizer

/// Load time and encode throughput, printed for the record and bounded (generously, release
/// builds only: debug builds are several times slower and are not what runs in production).
final class PerformanceTests: XCTestCase {
    static let models = FixtureSupport.repoRoot.appendingPathComponent("../shared/models")

    /// ~100 KB of mixed text: SQuAD-like English, code, CJK, Cyrillic, emoji, whitespace runs.
    static func sampleText(bytes: Int = 100_000) -> String {
        let pieces = [
            "Super Bowl 50 was an American football game to determine the champion of the National Football League (NFL) for the 2015 season. ",
            "def f(x):\n    return x * 2  # doubled\n\n", "日本語のテキストと中文，标点！ ", "Привет мир, как дела? ",
            "I'm sure they'll say DON'T — 3.14159 or $1,000.00 😀👍🏽 ", "   \t\n\n", "https://example.com/path?q=1 ",
        ]
        var s = ""
        var i = 0
        while s.utf8.count < bytes {
            s += pieces[i % pieces.count]
            if i % 11 == 0 { s += "word\(i) " }
            i += 1
        }
        return s
    }

    func testLoadAndEncodeTimes() throws {
        let text = PerformanceTests.sampleText()
        var report: [String] = []
        for name in ["qwen2.5-tokenizer", "llama3-tokenizer", "gpt2-tokenizer", "tinystories-656k"] {
            let t0 = Date()
            let tok = try Tokenizer(directory: PerformanceTests.models.appendingPathComponent(name))
            let load = Date().timeIntervalSince(t0)
            let t1 = Date()
            let ids = tok.encode(text)
            let cold = Date().timeIntervalSince(t1)
            let t2 = Date()
            let again = tok.encode(text)
            let warm = Date().timeIntervalSince(t2)
            let plain = tok.encode(text, addSpecialTokens: false)
            let t3 = Date()
            let decoded = tok.decode(plain)
            let decode = Date().timeIntervalSince(t3)
            XCTAssertEqual(ids, again)
            XCTAssertGreaterThan(ids.count, 10_000)
            // Byte-level BPE round-trips exactly (TinyStories maps unknown characters to <unk>;
            // Llama-3's decode applies transformers' clean-up of " ," and the like).
            if name != "tinystories-656k" && !tok.cleansUpTokenizationSpaces { XCTAssertTrue(sameText(decoded, text), name) }
            report.append(String(format: "%@: load %.3f s, encode 100 KB %.3f s cold / %.3f s warm (%.1f MB/s), decode %.3f s, %d ids",
                                 name, load, cold, warm, Double(text.utf8.count) / warm / 1e6, decode, ids.count))
            #if !DEBUG
            XCTAssertLessThan(load, 3.0, "\(name): loading is too slow")
            XCTAssertLessThan(cold, 1.0, "\(name): encoding 100 KB is too slow")
            #endif
        }
        print("Tokenizer timings:\n  " + report.joined(separator: "\n  "))
    }
}
