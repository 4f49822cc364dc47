import Foundation
import XCTest
import SealTokenizer

/// Locating the repository and reading the reference fixtures written by
/// scripts/fixtures/make_tokenizer_fixtures.py.
enum FixtureSupport {
    /// The repository root: the nearest ancestor of this file (symlinks resolved) that holds
    /// Tests/Fixtures/tokenizer.
    static let repoRoot: URL = {
        var dir = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Tests/Fixtures/tokenizer").path) { return dir }
            dir = dir.deletingLastPathComponent()
        }
        fatalError("cannot find the repository root above \(#filePath)")
    }()

    static var fixturesDir: URL { repoRoot.appendingPathComponent("Tests/Fixtures/tokenizer") }

    struct Case: Decodable {
        let text: String
        let ids: [Int]
        let decoded: String
        let roundtrip: Bool
    }

    struct DecodeCase: Decodable {
        let ids: [Int]
        let skip_special_tokens: Bool
        let decoded: String
    }

    struct Fixture: Decodable {
        let tokenizer: String?
        let tokenizer_json: JSONText?
        let clean_up_tokenization_spaces: Bool
        let vocab_size: Int
        let bos_token_id: Int?
        let special_prefix: [Int]
        let special_suffix: [Int]
        let special_token_ids: [Int]
        let cases: [Case]
        let decode_cases: [DecodeCase]
    }

    /// An inline tokenizer.json, kept as its exact text.
    struct JSONText: Decodable {
        let text: String
        init(from decoder: Decoder) throws { text = try decoder.singleValueContainer().decode(String.self) }
    }

    static func load(_ family: String) throws -> (Fixture, Tokenizer) {
        let url = fixturesDir.appendingPathComponent("\(family).json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        let tokenizer: Tokenizer
        if let dir = fixture.tokenizer {
            tokenizer = try Tokenizer(directory: repoRoot.appendingPathComponent(dir))
        } else {
            tokenizer = try Tokenizer(tokenizerJSON: Data(fixture.tokenizer_json!.text.utf8), source: url.path,
                                      cleanUpTokenizationSpaces: fixture.clean_up_tokenization_spaces)
        }
        return (fixture, tokenizer)
    }
}

/// Swift `String` equality is canonical equivalence ("é" == "e\u{301}"), which would hide exactly
/// the normalisation differences these tests look for; compare the UTF-8 bytes instead.
func sameText(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

/// A string with every non-printable-ASCII scalar escaped, for failure messages.
func visible(_ s: String, limit: Int = 160) -> String {
    var out = ""
    for u in s.unicodeScalars {
        if out.count > limit { out += "…"; break }
        if u.value >= 0x20 && u.value < 0x7F { out.unicodeScalars.append(u) } else { out += "\\u{\(String(u.value, radix: 16))}" }
    }
    return "\"\(out)\""
}

/// Collects failures and reports the first few (with the input text) in one assertion.
struct FailureLog {
    let label: String
    private(set) var count = 0
    private var lines: [String] = []

    init(_ label: String) { self.label = label }

    mutating func add(_ line: @autoclosure () -> String) {
        count += 1
        if lines.count < 8 { lines.append(line()) }
    }

    func assertNone(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(count, 0, "\(label): \(count) failure(s); first:\n" + lines.joined(separator: "\n"), file: file, line: line)
    }
}
