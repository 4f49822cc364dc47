import Foundation
import XCTest
import SealGenerate
import SealARC

/// Grid text (numpy's print, compact), answer parsing, and the prompts of SEAL's TTT, inference and self-edits.
final class GridTextTests: XCTestCase {
    func testNumpyPrintEqualsNumpy() {
        let prints = ARCTestData.oracle["prints"] as! [[String: String]]
        XCTAssertEqual(prints.count, 6)
        for p in prints {
            let g = fixtureGrid(p["grid"]!)
            XCTAssertEqual(GridFormat.numpy.render(g), p["numpy"]!)
            XCTAssertEqual(GridFormat.numpy.parse(p["numpy"]!), g)
        }
        XCTAssertEqual(GridFormat.numpy.render(Grid([[0, 1], [2, 3]])!), "[[0 1]\n [2 3]]")
    }

    func testEveryRealGridRoundTripsInBothFormats() {
        for t in ARCTestData.training.prefix(100) {
            for g in t.grids {
                XCTAssertEqual(GridFormat.numpy.parse(GridFormat.numpy.render(g)), g)
                XCTAssertEqual(GridFormat.compact.parse(GridFormat.compact.render(g)), g)
                XCTAssertEqual(GridFormat.numpy.parseAnswer(GridFormat.numpy.render(g) + "#<|eot_id|>"), g)
            }
        }
        XCTAssertEqual(GridFormat.compact.render(Grid([[0, 1], [2, 3]])!), "01\n23")
    }

    func testMalformedAnswersGiveNil() {
        let bad = ["", "#", "[[1 2]\n [3]]", "[[1 10]]", "[[1 2]", "[[a b]]", "[[]]", "[]", "[[1 2]] and more", "1 2\n3 4",
                   "[[1 2] [3 4]", "[[-1 2]]", "[[1.0 2]]", "[" + String(repeating: "[1] ", count: 31) + "]",
                   "[[" + Array(repeating: "1", count: 31).joined(separator: " ") + "]]", "[[1 2]\n [3 4]]]"]
        for b in bad { XCTAssertNil(GridFormat.numpy.parseAnswer(b), b) }
        for b in ["", "12\n3", "1a\n22", "1,2\n3,4", String(repeating: "1", count: 31)] { XCTAssertNil(GridFormat.compact.parse(b), b) }
        // Tolerated: Python-list commas, extra spaces, text after '#', a code fence, surrounding whitespace.
        let g = Grid([[1, 2], [3, 4]])!
        for ok in ["[[1, 2], [3, 4]]", " [[1  2]\n  [3 4]] ", "[[1 2]\n [3 4]]# trailing words", "```\n[[1 2]\n [3 4]]\n```",
                   "\n[[1 2]\n [3 4]]\n"] {
            XCTAssertEqual(GridFormat.numpy.parseAnswer(ok), g, ok)
        }
        XCTAssertEqual(GridFormat.compact.parseAnswer("\n12\n34\n#"), g)
    }

    let task = ARCTask(id: "t", train: [ARCPair(input: Grid([[1, 0]])!, output: Grid([[0, 1]])!),
                                        ARCPair(input: Grid([[2], [3]])!, output: Grid([[3], [2]])!)],
                       test: [ARCTest(input: Grid([[5, 6]])!, output: Grid([[6, 5]])!)])

    /// The query prompts, written out by hand from SEAL's representers and the two chat templates.
    func testQueryPrompts() {
        let instruction = "Figure out the underlying transformation in the following examples and apply it to the test case. Here are some examples from this transformation, your answer must follow the format.\nThe input-output grids are provided as python arrays:\n"
        let demos = "[[1 0]] -> [[0 1]]#\n[[2]\n [3]] -> [[3]\n [2]]#\n"
        let llama = ARCPrompts.query(demos: task.train, input: task.test[0].input, output: task.test[0].output, format: .numpy, chat: .chat(.llama3))
        // Llama 3.x's template trims every message (the trailing newline of the system message, the trailing
        // space of "-> ") and adds the dated system header.
        XCTAssertEqual(llama.prompt, "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
            + instruction + String(demos.dropLast()) + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n[[5 6]] -><|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        XCTAssertEqual(llama.completion, "[[6 5]]#<|eot_id|>")
        let qwen = ARCPrompts.query(demos: task.train, input: task.test[0].input, output: task.test[0].output, format: .numpy, chat: .chat(.qwen2))
        XCTAssertEqual(qwen.prompt, "<|im_start|>system\n" + instruction + demos + "<|im_end|>\n<|im_start|>user\n[[5 6]] -> <|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(qwen.completion, "[[6 5]]#<|im_end|>")
        let plain = ARCPrompts.query(demos: task.train, input: task.test[0].input, output: nil, format: .numpy, chat: .none)
        XCTAssertEqual(plain.prompt, instruction + demos + "[[5 6]] -> ")
        XCTAssertEqual(plain.completion, "")
        let compact = ARCPrompts.query(demos: task.train, input: task.test[0].input, output: task.test[0].output, format: .compact, chat: .none)
        XCTAssertTrue(compact.prompt.hasSuffix("10 -> 01#\n2\n3 -> 3\n2#\n56 -> "))
        XCTAssertEqual(compact.completion, "65#")
    }

    func testSelfEditPrompt() {
        let p = ARCPrompts.selfEditPrompt(task, chat: .chat(.llama3))
        let user = "Input:\n1 0\n\nOutput:\n0 1\n\nInput:\n2\n3\n\nOutput:\n3\n2\n\n------\n\n" + ARCPrompts.selfEditInstruction
        XCTAssertEqual(p, "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant that provide the correct output for the given task immediately.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n" + user + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        // SEAL's triple-quoted prompt starts and ends with a newline; its lines are indented by 4 spaces.
        XCTAssertTrue(ARCPrompts.selfEditInstruction.hasPrefix("\nYou are configuring a model training pipeline by selecting from predefined tools.\n\nYou must make two decisions:\n\n1. **Data Generation Tools** — For each of the following, choose true or false:\n    - use_basic_augmentations\n"))
        XCTAssertTrue(ARCPrompts.selfEditInstruction.hasSuffix("    \"num_train_epochs\": ...\n  }\n}\n"))
        XCTAssertTrue(ARCPrompts.selfEditPrompt(task, chat: .chat(.qwen2)).hasPrefix("<|im_start|>system\nYou are a helpful assistant that provide"))
    }
}
