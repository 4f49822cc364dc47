import Foundation
import XCTest
import SealEngine
import SealKnowledge

final class KnowledgeTests: XCTestCase {
    static let squad = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/data/seal-reference/knowledge-incorporation/data/squad_val.json").path

    func testLoadsSQuADInSEALSchema() throws {
        let ps = try KnowledgeData.loadSEAL(Self.squad)
        XCTAssertEqual(ps.count, 2067)
        XCTAssertEqual(ps.reduce(0) { $0 + $1.questions.count }, 10570)
    }

    func testSelfEditToSequences() throws {
        let edit = "Here are the implications:\n1. A is B.\n2. C is D.\n---\nE is F."
        let seqs = try KnowledgePrompts.sequences(selfEdit: edit, title: "T", context: "ctx", splitLines: true)
        XCTAssertEqual(seqs, ["T\n1. A is B.", "T\n2. C is D.", "T\nE is F.", "T\nctx"])
        let whole = try KnowledgePrompts.sequences(selfEdit: edit, title: "T", context: "ctx", splitLines: false)
        XCTAssertEqual(whole, ["T\nHere are the implications:\n1. A is B.\n2. C is D.", "T\nE is F.", "T\nctx"])
        XCTAssertThrowsError(try KnowledgePrompts.sequences(selfEdit: " \n---\n ", title: "T", context: "c", splitLines: true)) { e in
            XCTAssertTrue(e is InvalidSelfEdit)
        }
    }

    func testGrader() {
        XCTAssertTrue(AnswerGrader.isCorrect(prediction: "It was the Denver Broncos.", gold: "Denver Broncos"))
        XCTAssertFalse(AnswerGrader.isCorrect(prediction: "Carolina", gold: "Denver Broncos"))
        XCTAssertFalse(AnswerGrader.isCorrect(prediction: "anything", gold: "  "))
    }

    func testBadSQuADFile() throws {
        let f = NSTemporaryDirectory() + "bad-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: f) }
        try #"[{"title": "A", "context": "x", "questions": [{"question": "q?"}]}]"#.write(toFile: f, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try KnowledgeData.loadSEAL(f)) { XCTAssertTrue("\($0)".contains("entry 0 question 0")) }
        try #"[{"title": "A", "questions": []}]"#.write(toFile: f, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try KnowledgeData.loadSEAL(f)) { XCTAssertTrue("\($0)".contains("entry 0") && "\($0)".contains("context")) }
        try #"[{"title": "A", "context": "x", "questions": [{"question": "q?", "answer": " "}]}]"#.write(toFile: f, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try KnowledgeData.loadSEAL(f)) { XCTAssertTrue("\($0)".contains("empty gold")) }
    }
}
