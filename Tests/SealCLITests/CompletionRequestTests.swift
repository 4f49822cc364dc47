import Foundation
import XCTest
import SealHTTP

/// `CompletionRequest`, the decoding of `seal serve`'s request bodies, alone (no server): every field with every
/// kind of bad value is refused naming that field; what is accepted is in range.
final class CompletionRequestTests: XCTestCase {
    let limits = CompletionRequest.Limits(modelName: "m", context: 512, defaultMaxTokens: 32)

    func decode(_ json: String, chat: Bool = false) throws(ServeRequestError) -> CompletionRequest {
        try CompletionRequest(json: Data(json.utf8), chat: chat, limits: limits)
    }

    func testEveryBadValueNamesItsField() {
        let bad = ["1e19", "-1e19", "1e999", "-1e999", "2.5", "true", "\"3\"", "[1]", "{}", "-1", "9223372036854775807",
                   "-9223372036854775808", "18446744073709551616"]
        let fields = ["max_tokens", "max_completion_tokens", "n", "seed", "temperature", "top_p"]
        for field in fields {
            for v in bad {
                do {
                    let r = try decode(#"{"prompt":"x","\#(field)":\#(v)}"#)
                    // Legal only where the value is: seed 2^63-1 is an integer ≥ 0.
                    XCTAssertEqual(field, "seed", "\(field) = \(v) accepted: \(r)")
                    XCTAssertEqual(r.seed, UInt64(Int.max))
                } catch {
                    XCTAssertEqual(error.field, field, "\(field) = \(v): \(error)")
                    XCTAssertTrue(error.description.contains(field), "\(field) = \(v): \(error)")
                }
            }
        }
        for (field, v) in [("stream", "1"), ("stream", "\"yes\""), ("stop", "[1]"), ("stop", "7"), ("stream_options", "true"),
                           ("prompt", "[1,2]"), ("prompt", "[]"), ("model", "7")] {
            XCTAssertThrowsError(try decode(#"{"prompt":"x","\#(field)":\#(v)}"#.replacingOccurrences(of: #""prompt":"x","prompt""#, with: #""prompt""#))) { e in
                XCTAssertEqual((e as? ServeRequestError)?.field, field, "\(field) = \(v): \(e)")
            }
        }
        XCTAssertThrowsError(try decode(#"{"model":"other","prompt":"x"}"#)) { e in
            XCTAssertEqual(e as? ServeRequestError, .modelNotFound("other", served: "m"))
        }
        for broken in ["", "{", "nan", "[1]", "\"x\"", #"{"prompt": }"#] {
            XCTAssertThrowsError(try decode(broken), broken)
        }
    }

    func testAcceptedRequests() throws {
        let r = try decode(#"{"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],"max_tokens":512,"n":64,"seed":0,"temperature":0,"top_p":1,"stop":["","\n"],"stream":true,"stream_options":{"include_usage":true}}"#, chat: true)
        XCTAssertEqual(r.messages, [.init(role: "system", content: "s"), .init(role: "user", content: "ab")])
        XCTAssertEqual([r.maxTokens, r.n], [512, 64])
        XCTAssertEqual(r.seed, 0)
        XCTAssertEqual(r.stop, ["\n"])
        XCTAssertTrue(r.stream && r.includeUsage)
        let d = try decode(#"{"prompt":["a","b"],"max_tokens":null,"seed":null}"#)
        XCTAssertEqual(d.prompts, ["a", "b"])
        XCTAssertEqual(d.maxTokens, 32)
        XCTAssertNil(d.seed)
        XCTAssertEqual([d.temperature, d.topP], [1, 1])
        // max_completion_tokens wins over max_tokens; each is bounded by the context.
        XCTAssertEqual(try decode(#"{"prompt":"x","max_tokens":3,"max_completion_tokens":4}"#).maxTokens, 4)
        XCTAssertThrowsError(try decode(#"{"prompt":"x","max_tokens":513}"#))
        XCTAssertThrowsError(try decode(#"{"prompt":"x","n":65}"#))
    }
}
