import Foundation
import XCTest
import SealEngine
import SealARC

/// The self-edit JSON: valid, wrapped in prose, fenced, missing keys, wrong types, absurd values, the budget.
final class SelfEditTests: XCTestCase {
    let valid = """
    {
      "data_generation": {
        "use_basic_augmentations": true,
        "use_size_augmentations": false,
        "use_chain_augmentations": false,
        "use_repeat_augmentations": true
      },
      "training": {
        "strategy": "train_using_output_tokens",
        "learning_rate": 1e-4,
        "num_train_epochs": 2
      }
    }
    """
    let expected = ARCSelfEdit(augmentations: AugmentationSwitches(basic: true, size: false, chain: false, repeat: true),
                               strategy: .outputTokens, learningRate: 1e-4, epochs: 2)

    func reason(_ text: String) -> String? {
        do { _ = try ARCSelfEdit.parse(text); return nil } catch let e as InvalidSelfEdit { return e.reason } catch { return "other error: \(error)" }
    }

    func testValidForms() throws {
        XCTAssertEqual(try ARCSelfEdit.parse(valid), expected)
        XCTAssertEqual(try ARCSelfEdit.parse("Sure! Here is my configuration:\n" + valid + "\nThis should work well."), expected)
        XCTAssertEqual(try ARCSelfEdit.parse("```json\n" + valid + "\n```"), expected)
        // Trailing commas are tolerated.
        XCTAssertEqual(try ARCSelfEdit.parse(valid.replacingOccurrences(of: "true\n", with: "true,\n").replacingOccurrences(of: "2\n", with: "2,\n")), expected)
        // An integral float counts as an integer; key order and extra keys do not matter.
        let reordered = #"{"training": {"num_train_epochs": 2.0, "learning_rate": 0.0001, "strategy": "train_using_output_tokens", "note": "x"}, "data_generation": {"use_repeat_augmentations": true, "use_chain_augmentations": false, "use_size_augmentations": false, "use_basic_augmentations": true}}"#
        XCTAssertEqual(try ARCSelfEdit.parse(reordered), expected)
        // A braced aside before the object does not hide it.
        XCTAssertEqual(try ARCSelfEdit.parse("I considered {several options}. " + valid), expected)
        // The canonical form parses back to itself.
        XCTAssertEqual(try ARCSelfEdit.parse(expected.json), expected)
        XCTAssertEqual(try ARCSelfEdit.parse(ARCDomain.oracleDefault),
                       ARCSelfEdit(augmentations: .all, strategy: .outputTokens, learningRate: 1e-4, epochs: 2))
    }

    func testInvalidWithReasons() {
        func edit(_ from: String, _ to: String) -> String {
            precondition(valid.contains(from), from)
            return valid.replacingOccurrences(of: from, with: to)
        }
        let cases: [(String, String)] = [
            ("I would use basic augmentations and 2 epochs.", "no JSON object"),
            (String(valid.dropLast(20)), "does not parse"),
            (#"{"data_generation": {"use_basic_augmentations": tru}}"#, "does not parse"),
            (edit("\"use_size_augmentations\": false,\n", ""), "missing key data_generation.use_size_augmentations"),
            (#"{"training": {"strategy": "train_using_all_tokens", "learning_rate": 0.1, "num_train_epochs": 1}}"#, "missing key data_generation"),
            (edit("\"learning_rate\": 1e-4,\n", ""), "missing key training.learning_rate"),
            (edit("\"num_train_epochs\": 2", "\"epochs\": 2"), "missing key training.num_train_epochs"),
            (edit("\"use_basic_augmentations\": true", "\"use_basic_augmentations\": \"true\""), "use_basic_augmentations must be true or false, found a string \"true\""),
            (edit("\"use_basic_augmentations\": true", "\"use_basic_augmentations\": 1"), "must be true or false, found a number 1"),
            (edit("train_using_output_tokens", "train_on_everything"), "training.strategy must be"),
            (edit("\"learning_rate\": 1e-4", "\"learning_rate\": \"1e-4\""), "learning_rate must be a number, found a string"),
            (edit("\"num_train_epochs\": 2", "\"num_train_epochs\": \"2\""), "num_train_epochs must be an integer, found a string \"2\""),
            (edit("\"num_train_epochs\": 2", "\"num_train_epochs\": 2.5"), "num_train_epochs must be an integer, found a number 2.5"),
            (edit("\"num_train_epochs\": 2", "\"num_train_epochs\": 0"), "trains nothing"),
            (edit("\"num_train_epochs\": 2", "\"num_train_epochs\": -3"), "trains nothing"),
            (edit("\"learning_rate\": 1e-4", "\"learning_rate\": -0.001"), "outside (0, 1]"),
            (edit("\"learning_rate\": 1e-4", "\"learning_rate\": 0"), "outside (0, 1]"),
            (edit("\"learning_rate\": 1e-4", "\"learning_rate\": 50"), "outside (0, 1]"),
            (edit("\"learning_rate\": 1e-4", "\"learning_rate\": 1e999"), "outside (0, 1]"),
            (#"{"data_generation": [true, false], "training": {}}"#, "data_generation must be an object, found a list"),
        ]
        for (text, needle) in cases {
            guard let r = reason(text) else { XCTFail("accepted: \(text)"); continue }
            XCTAssertTrue(r.contains(needle), "'\(needle)' not in '\(r)'")
        }
    }

    func testBudgetRule() {
        var e = expected
        e.epochs = 3
        XCTAssertNil(e.overBudget(examples: 250))            // 3 × 250 / 2 = 375
        e.epochs = 4
        XCTAssertEqual(e.overBudget(examples: 250), "over budget: num_train_epochs 4 × 250 examples / 2 = 500 > 375 steps")
        e.epochs = 1
        XCTAssertNil(e.overBudget(examples: 751))            // 751 // 2 = 375, as SEAL's integer division
        XCTAssertNotNil(e.overBudget(examples: 752))
        e.epochs = Int.max
        XCTAssertNotNil(e.overBudget(examples: 2))           // no overflow trap
        XCTAssertNotNil(try? ARCSelfEdit.parse(valid.replacingOccurrences(of: "\"num_train_epochs\": 2", with: "\"num_train_epochs\": 1e30")))
    }
}
