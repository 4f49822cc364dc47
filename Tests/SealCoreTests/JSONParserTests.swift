import Foundation
import SealCore
import XCTest

/// The one JSON reader: what each caller relies on (exact integers apart from other numbers, keys in order with
/// duplicates, strict UTF-8, positions in errors) and each leniency only when asked for.
final class JSONParserTests: XCTestCase {
    func parse(_ s: String, _ options: JSONParser.Options = []) throws -> JSONValue { try JSONParser.parse(s, options: options) }

    func syntaxError(_ s: String, _ options: JSONParser.Options = []) -> JSONSyntaxError? {
        do { _ = try parse(s, options); return nil } catch { return error as? JSONSyntaxError }
    }

    func testNumbersKeepIntegersExact() throws {
        XCTAssertEqual(try parse("2"), .int(2))
        XCTAssertEqual(try parse("-0"), .int(0))
        XCTAssertEqual(try parse("2.0"), .double(2))
        XCTAssertEqual(try parse("2e0"), .double(2))
        XCTAssertEqual(try parse("-2.5E-3"), .double(-0.0025))
        XCTAssertEqual(try parse("9223372036854775807"), .int(.max))
        XCTAssertEqual(try parse("-9223372036854775808"), .int(.min))
        XCTAssertEqual(try parse("123456789012345678"), .int(123_456_789_012_345_678))
        // Beyond Int: the nearest Double; beyond Double: infinity (callers that need a finite number check).
        XCTAssertEqual(try parse("9223372036854775808"), .double(9_223_372_036_854_775_808))
        XCTAssertEqual(try parse("-18446744073709551616"), .double(-18_446_744_073_709_551_616))
        XCTAssertEqual(try parse("1e999"), .double(.infinity))
        XCTAssertEqual(try parse("2").intValue, 2)
        XCTAssertNil(try parse("2.0").intValue)
        XCTAssertEqual(try parse("2").doubleValue, 2)
        XCTAssertNil(try parse("true").doubleValue)
        for bad in ["01", "1.", ".5", "-", "1e", "1e+", "+1", "0x10", "NaN", "Infinity"] {
            XCTAssertNotNil(syntaxError(bad), bad)
        }
    }

    func testObjectsKeepOrderAndDuplicates() throws {
        let v = try parse(#"{"b": 1, "a": [true, false, null], "b": "two", "e\u0301": 3, "é": 4}"#)
        guard case .object(let o) = v else { return XCTFail("\(v)") }
        XCTAssertEqual(o.keys, ["b", "a", "b", "e\u{301}", "é"])
        XCTAssertEqual(o.count, 5)
        XCTAssertEqual(v["b"], .string("two"), "the last of a repeated key")
        XCTAssertEqual(v["a"], .array([.bool(true), .bool(false), .null]))
        // Keys compare by bytes: canonically equivalent spellings stay apart.
        XCTAssertEqual(v["e\u{301}"], .int(3))
        XCTAssertEqual(v["é"], .int(4))
        XCTAssertNil(v["c"])
        XCTAssertNil(JSONValue.int(1)["b"])
        XCTAssertEqual(o.map(\.key), o.keys)
        XCTAssertEqual(try parse("{}"), .object(JSONObject()))
        XCTAssertEqual(try parse(#"{"x": 1}"#), .object(JSONObject([("x", .int(1))])))
        XCTAssertNotEqual(try parse(#"{"x": 1, "y": 2}"#), try parse(#"{"y": 2, "x": 1}"#), "order is part of the value")
    }

    func testStrings() throws {
        XCTAssertEqual(try parse(#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00 ü""#), .string("a\"\\/\u{8}\u{c}\n\r\té😀 ü"))
        XCTAssertEqual(try parse(#""""#), .string(""))
        XCTAssertTrue(syntaxError(#""\ud800""#)?.reason.contains("surrogate") ?? false)
        XCTAssertTrue(syntaxError(#""\udc00""#)?.reason.contains("surrogate") ?? false)
        XCTAssertTrue(syntaxError(#""\ud800\u0041""#)?.reason.contains("surrogate") ?? false)
        XCTAssertNotNil(syntaxError("\"a\u{1}\""), "control characters must be escaped")
        XCTAssertNotNil(syntaxError(#""\x""#))
        XCTAssertNotNil(syntaxError(#""\u12""#))
        XCTAssertNotNil(syntaxError(#""abc"#))
        let invalid: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        XCTAssertThrowsError(try JSONParser.parse(invalid)) { e in
            XCTAssertEqual((e as? JSONSyntaxError)?.reason, "invalid UTF-8 in a string")
            XCTAssertEqual((e as? JSONSyntaxError)?.offset, 1)
        }
    }

    func testLeniencyOnlyWhenAsked() throws {
        XCTAssertNotNil(syntaxError("[1, 2,]"))
        XCTAssertNotNil(syntaxError(#"{"a": 1,}"#))
        XCTAssertEqual(try parse("[1, 2, ]", .trailingCommas), .array([.int(1), .int(2)]))
        XCTAssertEqual(try parse(#"{"a": 1 , }"#, .trailingCommas), .object(JSONObject([("a", .int(1))])))
        XCTAssertNotNil(syntaxError("[1,,]", .trailingCommas), "one trailing comma, not an empty element")
        XCTAssertNotNil(syntaxError("[,]", .trailingCommas))
        XCTAssertNotNil(syntaxError("\u{FEFF}[1]"))
        XCTAssertEqual(try parse("\u{FEFF}[1]", .byteOrderMark), .array([.int(1)]))
        XCTAssertEqual(try parse(#"["\ud800", "\udc00x", "\ud800\u0041"]"#, .repairText),
                       .array([.string("\u{FFFD}"), .string("\u{FFFD}x"), .string("\u{FFFD}A")]))
        XCTAssertEqual(try JSONParser.parse([0x22, 0xC3, 0x28, 0x22], options: .repairText), .string("\u{FFFD}("))
    }

    func testErrorsSayWhere() throws {
        let e = try XCTUnwrap(syntaxError("{\n  \"é\": [1,\n    }"))
        XCTAssertEqual(e.line, 3)
        XCTAssertEqual(e.column, 5)
        XCTAssertEqual(e.offset, 18)
        XCTAssertEqual(e.description, "line 3 column 5: \(e.reason)")
        // Columns count characters, not bytes.
        XCTAssertEqual(syntaxError(#"["é", x]"#)?.column, 7)
        XCTAssertEqual(syntaxError("")?.reason, "unexpected end of input")
        XCTAssertEqual(syntaxError("tokenizer")?.offset, 0)
        XCTAssertTrue(syntaxError("{} {}")?.reason.contains("trailing") ?? false)
        XCTAssertTrue(syntaxError(String(repeating: "[", count: 100_000))?.reason.contains("nesting") ?? false)
        XCTAssertNoThrow(try parse(String(repeating: "[", count: 512) + String(repeating: "]", count: 512)))
    }

    func testDescriptions() throws {
        XCTAssertEqual(try parse("2").typeDescription, "a number 2")
        XCTAssertEqual(try parse("2.5").typeDescription, "a number 2.5")
        XCTAssertEqual(try parse(#""yes""#).typeDescription, "a string \"yes\"")
        XCTAssertEqual(try parse("[]").kind, "a list")
        XCTAssertEqual(try parse("{}").kind, "an object")
        XCTAssertEqual(try parse("false").kind, "a boolean")
    }
}
