import Foundation
import XCTest
import SealEngine
import SealKnowledge

final class PromptTests: XCTestCase {
    /// Every file of SEAL's synthetic data that a prompt produced.
    static let filesOfPrompt: [String: [String]] = [
        "implications": ["eval/base_val.json", "eval/gpt4_1_val.json", "eval/iter1_val.json", "eval/iter2_val.json",
                         "train/iter0_train.json", "train/iter1_train.json"],
        "implications-long": ["eval/alternate_prompts/base/base_val_prompt-long.json", "eval/alternate_prompts/iter2/iter2_val_prompt-long.json",
                              "train/alternate_prompts/iter0_train_prompt-long.json", "train/alternate_prompts/iter1_train_prompt-long.json"],
        "implications-very-long": ["train/alternate_prompts/iter0_train_prompt-very-long.json", "train/alternate_prompts/iter1_train_prompt-very-long.json"],
        "rewrite": ["eval/alternate_prompts/base/base_val_prompt-rewrite.json", "eval/alternate_prompts/iter1/iter1_val_prompt-rewrite.json",
                    "train/alternate_prompts/iter0_train_prompt-rewrite.json"],
        "self-qa": ["eval/alternate_prompts/base/base_val_prompt-self-qa.json", "eval/alternate_prompts/iter2/iter2_val_prompt-self-qa.json",
                    "train/alternate_prompts/iter1_train_prompt-self-qa.json"],
    ]

    /// For each prompt key, our prompt for a passage equals the `prompt` SEAL stored with it, byte for byte.
    func testBuiltInPromptsEqualSEALsStoredPrompts() throws {
        XCTAssertEqual(Set(Self.filesOfPrompt.keys), Set(KnowledgePrompts.selfEditTemplates.keys))
        for (name, files) in Self.filesOfPrompt {
            let template = try KnowledgePrompts.selfEditTemplate(name: name)
            var checked = 0
            for file in files {
                let f = try SelfEditFile(path: Shared.synthetic(file))
                XCTAssertGreaterThanOrEqual(f.entries.count, 50)
                for e in f.entries {
                    let ours = template.render(["title": e.title, "context": e.context])
                    XCTAssertEqual(utf8(ours), utf8(e.prompt), "\(name) vs \(file): '\(e.title)'")
                    checked += 1
                }
                // Another prompt never renders a stored one (the texts differ where they should).
                for other in KnowledgePrompts.selfEditTemplates.keys where other != name {
                    let o = try KnowledgePrompts.selfEditTemplate(name: other).render(["title": f.entries[0].title, "context": f.entries[0].context])
                    XCTAssertNotEqual(utf8(o), utf8(f.entries[0].prompt), "\(other) renders \(file)'s \(name) prompt")
                }
            }
            XCTAssertGreaterThanOrEqual(checked, 100, name)
        }
        XCTAssertEqual(KnowledgePrompts.implications(title: "T", context: "C"),
                       "Let's read the following passage and produce a list of implications derived directly or indirectly from the content.\n\nPassage:\nT\nC\n\nImplications:\n")
    }

    func testUserTemplates() throws {
        let t = try PromptTemplate("Notes on {title}:\n{context}\n{{not a field}} }}", fields: KnowledgePrompts.passageFields, source: "test")
        XCTAssertEqual(t.fields, ["title", "context"])
        // A passage that contains braces is inserted as it is, never read as a template.
        XCTAssertEqual(t.render(["title": "A {b}", "context": "x {title} y"]), "Notes on A {b}:\nx {title} y\n{not a field} }")
        func fails(_ text: String, _ needle: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try PromptTemplate(text, fields: KnowledgePrompts.passageFields, source: "knowledge.prompt_template"), file: file, line: line) { e in
                XCTAssertTrue("\(e)".contains(needle) && "\(e)".contains("knowledge.prompt_template"), "\(e)", file: file, line: line)
            }
        }
        fails("Passage: {contxt}", "unknown placeholder {contxt}")
        fails("Passage: {context} and {question}", "unknown placeholder {question}")
        fails("Passage: {context", "unclosed '{'")
        fails("Passage: context}", "single '}'")
        fails("{}", "unknown placeholder {}")
        XCTAssertThrowsError(try KnowledgePrompts.selfEditTemplate(name: "implication")) { e in
            XCTAssertTrue("\(e)".contains("'implication'") && "\(e)".contains("self-qa"), "\(e)")
        }
    }

    /// The prompt keys reach the domain's self-edit prompt; a bad template stops the run before it starts.
    func testDomainUsesConfiguredPrompt() throws {
        let schema = EngineConfig.schema + KnowledgeDomain.schema
        func domain(_ extra: [String]) throws -> KnowledgeDomain {
            try KnowledgeDomain(config: try ResolvedConfig.resolve(schema: schema, file: nil, overrides: [
                "knowledge.eval_file=\"\(Shared.squad)\"", "knowledge.eval_shuffle_seed=42", "knowledge.eval_count=3",
            ] + extra))
        }
        let ref = try SelfEditFile(path: Shared.synthetic("eval/alternate_prompts/base/base_val_prompt-rewrite.json"))
        let d = try domain(["knowledge.prompt=\"rewrite\""])
        let id = try d.contexts(split: "eval")[1].id
        let p = d.passages(split: "eval").first { $0.id == id }!
        XCTAssertEqual(utf8(try d.selfEditPrompt(contextID: id)), utf8(ref.entry(for: p)!.prompt))
        let own = try domain(["knowledge.prompt_template=\"Summarise {title}: {context}\""])
        XCTAssertEqual(try own.selfEditPrompt(contextID: id), "Summarise \(p.title): \(p.context)")
        XCTAssertThrowsError(try domain(["knowledge.prompt_template=\"About {topic}\""])) { e in
            XCTAssertTrue("\(e)".contains("{topic}") && "\(e)".contains("knowledge.prompt_template"), "\(e)")
        }
        XCTAssertThrowsError(try domain(["knowledge.prompt=\"summary\""])) { XCTAssertTrue("\($0)".contains("knowledge.prompt")) }
    }
}
