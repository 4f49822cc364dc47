import Foundation
import XCTest
import SealTokenizer

/// Exact agreement with HuggingFace on every fixture string: ids, decoded text, encoding without
/// special tokens, round trips, and decoding of arbitrary id sequences.
final class FixtureTests: XCTestCase {
    func testQwen25() throws { try check("qwen2.5") }
    func testLlama3() throws { try check("llama3") }
    func testGPT2() throws { try check("gpt2") }
    func testTinyStories() throws { try check("tinystories") }

    // Small tokenizers (inline in the fixture) for the components the four real files do not use.
    func testSyntheticByteLevel() throws { try check("synthetic-bytelevel", real: false) }
    func testSyntheticSplitBehaviours() throws { try check("synthetic-split", real: false) }
    func testSyntheticSplitInvert() throws { try check("synthetic-split-invert", real: false) }
    func testSyntheticByteFallback() throws { try check("synthetic-bytefallback", real: false) }
    func testSyntheticAnchorsAndEmptyMatches() throws { try check("synthetic-anchors", real: false) }
    func testSyntheticAffixes() throws { try check("synthetic-affixes", real: false) }

    func check(_ family: String, real: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws {
        let (fixture, tok) = try FixtureSupport.load(family)
        XCTAssertGreaterThan(fixture.cases.count, 100, family)

        XCTAssertEqual(tok.vocabSize, fixture.vocab_size, "\(family) vocabSize", file: file, line: line)
        XCTAssertEqual(tok.bosTokenID, fixture.bos_token_id, "\(family) bosTokenID", file: file, line: line)
        XCTAssertEqual(tok.addsBOS, fixture.bos_token_id != nil, "\(family) addsBOS", file: file, line: line)
        XCTAssertEqual(tok.specialTokenIDs, Set(fixture.special_token_ids), "\(family) specialTokenIDs", file: file, line: line)
        XCTAssertEqual(tok.cleansUpTokenizationSpaces, fixture.clean_up_tokenization_spaces, family, file: file, line: line)

        var encodeFailures = FailureLog("\(family) encode")
        var decodeFailures = FailureLog("\(family) decode")
        var plainFailures = FailureLog("\(family) encode(addSpecialTokens: false)")
        var roundTripFailures = FailureLog("\(family) round trip")
        var roundTrips = 0
        for c in fixture.cases {
            let ids = tok.encode(c.text)
            if ids != c.ids {
                encodeFailures.add("  \(visible(c.text)):\n    expected \(c.ids.prefix(40))\n    got      \(ids.prefix(40))")
            }
            let decoded = tok.decode(c.ids)
            if !sameText(decoded, c.decoded) {
                decodeFailures.add("  ids of \(visible(c.text)): expected \(visible(c.decoded)) got \(visible(decoded))")
            }
            let plain = tok.encode(c.text, addSpecialTokens: false)
            XCTAssert(c.ids.starts(with: fixture.special_prefix) && c.ids.reversed().starts(with: fixture.special_suffix.reversed()))
            let expectedPlain = Array(c.ids.dropFirst(fixture.special_prefix.count).dropLast(fixture.special_suffix.count))
            if plain != expectedPlain {
                plainFailures.add("  \(visible(c.text)): expected \(expectedPlain.prefix(40)) got \(plain.prefix(40))")
            }
            if c.roundtrip {
                roundTrips += 1
                let back = tok.decode(plain)
                if !sameText(back, c.text) { roundTripFailures.add("  \(visible(c.text)) came back as \(visible(back))") }
            }
        }
        if real { XCTAssertGreaterThan(roundTrips, fixture.cases.count / 2, "\(family): too few round-trip cases") }
        encodeFailures.assertNone(file: file, line: line)
        decodeFailures.assertNone(file: file, line: line)
        plainFailures.assertNone(file: file, line: line)
        roundTripFailures.assertNone(file: file, line: line)

        var idDecodeFailures = FailureLog("\(family) decode of id sequences")
        for d in fixture.decode_cases {
            let got = tok.decode(d.ids, skipSpecialTokens: d.skip_special_tokens)
            if !sameText(got, d.decoded) {
                idDecodeFailures.add("  \(d.ids) skip=\(d.skip_special_tokens): expected \(visible(d.decoded)) got \(visible(got))")
            }
        }
        XCTAssertGreaterThan(fixture.decode_cases.count, 50, family)
        idDecodeFailures.assertNone(file: file, line: line)
    }
}
