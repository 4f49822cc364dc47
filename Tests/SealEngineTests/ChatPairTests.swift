import Foundation
import XCTest
import SealEngine
import SealGenerate
import SealKnowledge
import SealRuntime
import SealTestSupport
import SealTokenizer
import SealModel
import SealTrain

/// With `model.chat`, the self-edit request the policy completes and the pair the policy update trains on are the
/// same text, encoded the same way — on a real ChatML model whose tokenizer's BOS is `<|im_start|>` (SmolLM2), where
/// encoding a chat prompt with the tokenizer's special tokens would write `<|im_start|>` twice.
final class ChatPairTests: XCTestCase {
    static let mpi: MPIRuntime = try! MPIRuntime()

    func engine(_ model: URL, chat: Bool) throws -> (ReSTEMEngine, KnowledgeDomain) {
        let dir = scratchRoot.appendingPathComponent("chatpair-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let passages: [[String: Any]] = [["title": "Lighthouses", "context": "The Eddystone Lighthouse stands on rocks south of Plymouth. Its present tower was built in 1882.",
                                          "questions": [["question": "When was the present Eddystone tower built?", "answer": "1882"]]]]
        let file = dir.appendingPathComponent("p.json")
        try JSONSerialization.data(withJSONObject: passages).write(to: file)
        let cfg = try ResolvedConfig.resolve(schema: EngineConfig.schema + KnowledgeDomain.schema, file: nil, overrides: [
            "model.path=\(model.path)", "model.chat=\(chat)", "knowledge.train_file=\(file.path)", "knowledge.eval_file=\(file.path)",
        ])
        let domain = try KnowledgeDomain(config: cfg)
        return (try ReSTEMEngine(domain: domain, config: cfg, mpi: Self.mpi), domain)
    }

    func testSmolLM2ChatPairIsThePromptSampled() throws {
        let gguf = try TestModels.smolLM2()
        let tok = try Tokenizer(model: gguf)
        XCTAssertEqual(tok.bosTokenID, 1)
        let imStart = 1, imEnd = try XCTUnwrap(tok.tokenID("<|im_end|>"))
        let (e, d) = try engine(gguf, chat: true)
        let id = try XCTUnwrap(try d.contexts(split: "train").first?.id)
        let request = try d.selfEditPrompt(contextID: id)
        let format = try XCTUnwrap(ChatFormat.detect(tok))

        // What sampling completes: apply_chat_template's ids, one <|im_start|> at the start.
        let prompt = try e.promptTokens(id).map(Int.init)
        XCTAssertEqual(prompt, tok.encode(format.prompt(user: request), addSpecialTokens: false))
        XCTAssertEqual(prompt.first, imStart)
        XCTAssertNotEqual(prompt.dropFirst().first, imStart, "a second <|im_start|> after the BOS")

        // What the policy update trains on: that prompt, then the self-edit, then one <|im_end|> (SmolLM2's EOS).
        let edit = "The tower was built in 1882."
        let pair = try e.selfEditPair(contextID: id, selfEdit: edit)
        XCTAssertEqual(pair.prompt, format.prompt(user: request))
        let enc = try Dataset.encode([pair], tokenizer: tok, lossOn: .completion, maxLength: 4096,
                                     eosID: e.policy.model.eosTokenIDs.first, appendEOS: true).rows[0]
        let editIDs = tok.encode(edit, addSpecialTokens: false)
        XCTAssertEqual(enc.ids.map(Int.init), prompt + editIDs + [imEnd])
        XCTAssertEqual(enc.targets.firstIndex(of: true), prompt.count, "loss starts at the self-edit")

        // Without model.chat: the domain's plain prompt, with the tokenizer's BOS, as SEAL's base-model setting.
        let (plain, _) = try engine(gguf, chat: false)
        XCTAssertEqual(try plain.promptTokens(id).map(Int.init), tok.encode(request))
        XCTAssertEqual(try plain.selfEditPair(contextID: id, selfEdit: edit), try d.reinforcementPair(contextID: id, selfEdit: edit))
    }
}
