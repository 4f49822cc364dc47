import Foundation
import XCTest
import SealTestSupport
import SealTokenizer
import SealTrain

/// Training data files and how rows become tokens (issue 14).
final class DatasetTests: XCTestCase {
    static let tiny = TrainingTests.root.deletingLastPathComponent().appendingPathComponent("shared/models/tinystories-656k")

    func file(_ bytes: [UInt8], _ name: String = "d.jsonl") throws -> String {
        let dir = scratchRoot.appendingPathComponent("seal-dataset-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }
    func file(_ s: String, _ name: String = "d.jsonl") throws -> String { try file(Array(s.utf8), name) }

    func expectLineError(_ path: String, line: Int, mentions: String, file f: StaticString = #filePath, l: UInt = #line) {
        XCTAssertThrowsError(try Dataset.load(path), file: f, line: l) { e in
            let name = URL(fileURLWithPath: path).lastPathComponent
            XCTAssertTrue("\(e)".contains("\(name):\(line)"), "'\(e)' should name line \(line)", file: f, line: l)
            XCTAssertTrue("\(e)".contains(mentions), "'\(e)' should mention \(mentions)", file: f, line: l)
        }
    }

    /// CRLF files load as their LF twins (before: every CRLF file was one line and "not a JSON object").
    func testCRLFEqualsLF() throws {
        let rows = [#"{"text": "Once upon a time"}"#, #"{"prompt": "Q:", "completion": " A."}"#, "", #"{"text": "The end."}"#]
        let lf = try Dataset.load(try file(rows.joined(separator: "\n") + "\n"))
        for sep in ["\r\n", "\n"] {
            for tail in ["", sep] {
                XCTAssertEqual(try Dataset.load(try file(rows.joined(separator: sep) + tail)), lf)
            }
        }
        XCTAssertEqual(lf.count, 3)
        XCTAssertEqual(lf[0], TextExample(text: "Once upon a time"))
    }

    /// Errors name the physical line, blank lines (LF or CRLF) counted.
    func testLineNumbersCountBlankLines() throws {
        for sep in ["\n", "\r\n"] {
            for blanks in [0, 1, 3] {
                let pad = String(repeating: sep, count: blanks)
                let text = #"{"text": "a"}"# + sep + pad + #"{"text": "b"}"# + sep + pad + "{oops" + sep
                expectLineError(try file(text), line: 3 + 2 * blanks, mentions: "JSON")
            }
        }
    }

    func testBothTextAndPromptIsAnError() throws {
        for row in [#"{"text": "t", "prompt": "p", "completion": "c"}"#, #"{"text": "t", "prompt": "p"}"#,
                    #"{"text": "t", "completion": "c"}"#, #"{"completion": "c", "text": "t"}"#] {
            expectLineError(try file(#"{"text": "ok"}"# + "\n\n" + row + "\n"), line: 3, mentions: "not both")
        }
    }

    func testInvalidUTF8IsAnErrorNotReplaced() throws {
        for bad: [UInt8] in [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0x80, 0x80], [0xF4, 0x90, 0x80, 0x80]] {
            let bytes = Array(#"{"text": "fine"}"#.utf8) + [0x0D, 0x0A, 0x0A] + Array(#"{"text": "ab"#.utf8) + bad + Array(#""}"#.utf8) + [0x0A]
            expectLineError(try file(bytes), line: 3, mentions: "UTF-8")
        }
    }

    /// {"text"} rows are exactly tokenizer(text): BOS where the tokenizer adds it, no EOS, unless textEOS asks;
    /// completions always end in EOS when appendEOS.
    func testTextRowsAreTokenizedAsTransformersDoes() throws {
        let tok = try Tokenizer(directory: Self.tiny)
        let texts = ["Once upon a time, there was a cat.", "The dog ran.", "a"]
        let rows = texts.map { TextExample(text: $0) } + [TextExample(prompt: "Q: who?", completion: " Tom.")]
        let eos = 2
        let (plain, _) = try Dataset.encode(rows, tokenizer: tok, lossOn: .completion, maxLength: 512, eosID: eos,
                                            appendEOS: true, textEOS: false)
        for (i, t) in texts.enumerated() {
            XCTAssertEqual(plain[i].ids, tok.encode(t).map(Int32.init), t)
            XCTAssertNotEqual(plain[i].ids.last, Int32(eos))
            XCTAssertEqual(plain[i].targets, plain[i].ids.indices.map { $0 > 0 })
        }
        let pair = plain[3]
        XCTAssertEqual(pair.ids, (tok.encode("Q: who?") + tok.encode(" Tom.", addSpecialTokens: false) + [eos]).map(Int32.init))
        XCTAssertEqual(pair.targets.last, true)
        let (withEOS, _) = try Dataset.encode(rows, tokenizer: tok, lossOn: .completion, maxLength: 512, eosID: eos,
                                              appendEOS: true, textEOS: true)
        for (i, t) in texts.enumerated() { XCTAssertEqual(withEOS[i].ids, (tok.encode(t) + [eos]).map(Int32.init)) }
        XCTAssertEqual(withEOS[3].ids, pair.ids)
        // Callers that do not say keep the old meaning (appendEOS covers text rows): the engine's knowledge rows
        // and toy-world pretraining rely on it.
        let (legacy, _) = try Dataset.encode(rows, tokenizer: tok, lossOn: .completion, maxLength: 512, eosID: eos, appendEOS: true)
        XCTAssertEqual(legacy.map(\.ids), withEOS.map(\.ids))
    }
}
