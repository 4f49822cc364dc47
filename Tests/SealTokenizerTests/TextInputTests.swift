import Foundation
import SealCore
import XCTest
import SealTokenizer

/// Text input files (issue 14): CRLF accepted, physical line numbers, invalid UTF-8 an error naming line and byte.
final class TextInputTests: XCTestCase {
    func lines(_ bytes: [UInt8]) throws -> [TextInput.Line] { try TextInput.lines(Data(bytes), path: "f.jsonl") }
    func lines(_ s: String) throws -> [TextInput.Line] { try lines(Array(s.utf8)) }

    func testLineEndsAndPhysicalNumbers() throws {
        for (text, expected) in [
            ("a\nb\n", [(1, "a"), (2, "b")]),
            ("a\r\nb\r\n", [(1, "a"), (2, "b")]),
            ("a\r\n\r\n\nb", [(1, "a"), (2, ""), (3, ""), (4, "b")]),
            ("a\n\n\nb\r\n\r\nc", [(1, "a"), (2, ""), (3, ""), (4, "b"), (5, ""), (6, "c")]),
            ("\u{FEFF}a\r\nb", [(1, "a"), (2, "b")]),
            ("x\ry\n", [(1, "x\ry")]),      // a lone CR is not a line end: only LF, with an optional CR before it
            ("", []), ("\n", [(1, "")]), ("\r\n", [(1, "")]),
        ] as [(String, [(Int, String)])] {
            let got = try lines(text)
            XCTAssertEqual(got.map(\.number), expected.map(\.0), "\(text.debugDescription)")
            XCTAssertEqual(got.map(\.text), expected.map(\.1), "\(text.debugDescription)")
            XCTAssertFalse(got.contains { $0.text.hasSuffix("\r") }, "\(text.debugDescription)")
        }
        XCTAssertTrue(try lines(" \t\r\n")[0].isBlank)
        XCTAssertFalse(try lines(" x \n")[0].isBlank)
    }

    func testInvalidUTF8IsNamedByLineAndOffset() throws {
        let bad: [[UInt8]] = [
            [0x80], [0xBF], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
            [0xF5, 0x80, 0x80, 0x80], [0xFF], [0xFE], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xC3], [0xE2, 0x28, 0xA1],
        ]
        for b in bad {
            // On line 3, after "ok\n\r\n" + "xy" (7 bytes), then the bad bytes, then more.
            let prefix = Array("ok\n\r\nxy".utf8)
            let data = prefix + b + Array("z\nlast\n".utf8)
            XCTAssertThrowsError(try lines(data), "\(b)") { e in
                XCTAssertEqual(e as? TextInput.Error, .invalidUTF8(path: "f.jsonl", line: 3, offset: prefix.count), "\(b)")
                XCTAssertTrue("\(e)".contains("f.jsonl:3"), "\(e)")
            }
            XCTAssertThrowsError(try TextInput.decode(Data(data), path: "t.txt")) { e in
                XCTAssertEqual(e as? TextInput.Error, .invalidUTF8(path: "t.txt", line: 3, offset: prefix.count), "\(b)")
            }
        }
        // Valid multi-byte text of every length passes unchanged.
        let good = "é €  😀 ﻿ \u{10FFFF} \u{7F}"
        XCTAssertEqual(try lines(good + "\r\n").map(\.text), [good])
        XCTAssertEqual(try TextInput.decode(Data(good.utf8), path: "t"), good)
    }

    /// The validator agrees with the standard library's on random byte strings (biased toward UTF-8 lead bytes).
    func testValidatorAgreesWithStandardLibrary() {
        var rng = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC,
                                 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        for _ in 0..<20_000 {
            let n = Int.random(in: 0...6, using: &rng)
            let bytes = (0..<n).map { _ in alphabet.randomElement(using: &rng)! }
            let ours = bytes.withUnsafeBufferPointer { firstInvalidUTF8($0) } == nil
            let std = String(validating: bytes, as: UTF8.self) != nil
            XCTAssertEqual(ours, std, "\(bytes.map { String($0, radix: 16) })")
        }
    }

    func testLineLimit() throws {
        let data = Data(Array("short\n".utf8) + [UInt8](repeating: 0x61, count: 100) + Array("\nok\n".utf8))
        XCTAssertThrowsError(try TextInput.lines(data, path: "g.jsonl", lineLimit: 99)) { e in
            XCTAssertEqual(e as? TextInput.Error, .lineTooLong(path: "g.jsonl", line: 2, bytes: 100, limit: 99))
        }
        XCTAssertEqual(try TextInput.lines(data, path: "g.jsonl", lineLimit: 100).count, 3)
    }
}
