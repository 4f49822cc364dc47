import Foundation
import SealCore

/// A task file that cannot be used; the message names the file, the task and the key.
public struct ARCDataError: Error, CustomStringConvertible {
    public var message: String
    public init(_ m: String) { message = m }
    public var description: String { message }
}

/// Reads ARC tasks in both published layouts:
/// - per-task JSON (fchollet/ARC-AGI's `data/training/<id>.json`): `{"train": [{"input", "output"}], "test":
///   [{"input"[, "output"]}]}`, the id being the file name; a folder of such files is read in file-name order;
/// - Kaggle: one challenges file `{id: {"train", "test": [{"input"}]}}` (tasks in file order) and an optional
///   solutions file `{id: [output grid per test input]}`.
/// Every grid is checked: a list of equal-length rows of integers 0–9, at least 1 × 1, at most 30 × 30.
public enum ARCData {
    /// Loads a per-task file, a folder of them, or a Kaggle challenges file (with `solutions` when given).
    public static func load(_ path: String, solutions: String? = nil) throws -> [ARCTask] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw ARCDataError("\(path): no such file or folder") }
        var tasks: [ARCTask]
        if isDir.boolValue {
            let files = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".json") }.sorted()
            if files.isEmpty { throw ARCDataError("\(path): no .json task files in the folder") }
            tasks = try files.map { try loadTaskFile((path as NSString).appendingPathComponent($0)) }
        } else {
            let root = try parseFile(path)
            if root["train"] != nil || root["test"] != nil {
                tasks = [try task(root, id: taskID(fromFile: path), file: path)]
            } else {
                guard case .object(let entries) = root else { throw ARCDataError("\(path): expected a JSON object (a task, or task ids mapped to tasks)") }
                if entries.isEmpty { throw ARCDataError("\(path): no tasks in the file") }
                tasks = try entries.map { try task($0.1, id: $0.0, file: path) }
            }
        }
        if let solutions { try attach(solutions: solutions, to: &tasks) }
        return tasks
    }

    /// One per-task file; the id is the file name without `.json`.
    public static func loadTaskFile(_ path: String) throws -> ARCTask {
        try task(try parseFile(path), id: taskID(fromFile: path), file: path)
    }

    static func taskID(fromFile path: String) -> String {
        let name = (path as NSString).lastPathComponent
        return name.hasSuffix(".json") ? String(name.dropLast(5)) : name
    }

    static func parseFile(_ path: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else { throw ARCDataError("\(path): cannot read the file") }
        do { return try JSONParser.parse(data, options: [.byteOrderMark, .repairText]) } catch let e as JSONSyntaxError {
            throw ARCDataError("\(path): not valid JSON (\(e))")
        }
    }

    /// Parses one task object; `file` and `id` name it in errors.
    public static func task(_ v: JSONValue, id: String, file: String) throws -> ARCTask {
        let at = "\(file): task \(id)"
        guard case .object = v else { throw ARCDataError("\(at): expected an object with \"train\" and \"test\"") }
        guard let trainV = v["train"] else { throw ARCDataError("\(at): missing key \"train\"") }
        guard let testV = v["test"] else { throw ARCDataError("\(at): missing key \"test\"") }
        guard case .array(let trainList) = trainV else { throw ARCDataError("\(at): \"train\" must be a list, found \(trainV.typeDescription)") }
        guard case .array(let testList) = testV else { throw ARCDataError("\(at): \"test\" must be a list, found \(testV.typeDescription)") }
        if trainList.isEmpty { throw ARCDataError("\(at): \"train\" has no examples") }
        if testList.isEmpty { throw ARCDataError("\(at): \"test\" has no inputs") }
        let train = try trainList.enumerated().map { k, e -> ARCPair in
            guard case .object = e else { throw ARCDataError("\(at): train[\(k)] must be an object with \"input\" and \"output\"") }
            guard let i = e["input"] else { throw ARCDataError("\(at): train[\(k)]: missing key \"input\"") }
            guard let o = e["output"] else { throw ARCDataError("\(at): train[\(k)]: missing key \"output\"") }
            return ARCPair(input: try grid(i, at: "\(at): train[\(k)].input"), output: try grid(o, at: "\(at): train[\(k)].output"))
        }
        let test = try testList.enumerated().map { k, e -> ARCTest in
            guard case .object = e else { throw ARCDataError("\(at): test[\(k)] must be an object with \"input\"") }
            guard let i = e["input"] else { throw ARCDataError("\(at): test[\(k)]: missing key \"input\"") }
            let o = try e["output"].map { try grid($0, at: "\(at): test[\(k)].output") }
            return ARCTest(input: try grid(i, at: "\(at): test[\(k)].input"), output: o)
        }
        return ARCTask(id: id, train: train, test: test)
    }

    /// Parses a grid; `at` names it in errors.
    public static func grid(_ v: JSONValue, at: String) throws -> Grid {
        guard case .array(let rows) = v else { throw ARCDataError("\(at): a grid must be a list of rows, found \(v.typeDescription)") }
        if rows.isEmpty { throw ARCDataError("\(at): the grid has no rows") }
        if rows.count > Grid.maxSide { throw ARCDataError("\(at): the grid has \(rows.count) rows; ARC grids have at most \(Grid.maxSide)") }
        var cells: [UInt8] = []
        var width = -1
        for (r, rowV) in rows.enumerated() {
            guard case .array(let row) = rowV else { throw ARCDataError("\(at): row \(r) must be a list of colours, found \(rowV.typeDescription)") }
            if row.isEmpty { throw ARCDataError("\(at): row \(r) is empty") }
            if width < 0 {
                width = row.count
                if width > Grid.maxSide { throw ARCDataError("\(at): the grid has \(width) columns; ARC grids have at most \(Grid.maxSide)") }
            } else if row.count != width {
                throw ARCDataError("\(at): the grid is not rectangular: row \(r) has \(row.count) cells, row 0 has \(width)")
            }
            for (c, x) in row.enumerated() {
                guard let n = x.intValue else { throw ARCDataError("\(at): row \(r) column \(c): a colour must be an integer 0–9, found \(x.typeDescription)") }
                guard (0...9).contains(n) else { throw ARCDataError("\(at): row \(r) column \(c): colour \(n) is outside 0–9") }
                cells.append(UInt8(n))
            }
        }
        return Grid(rows: rows.count, cols: width, cells: cells)
    }

    /// Adds a Kaggle solutions file's outputs to the tasks' test inputs: every id must be a loaded task and give
    /// one grid per test input.
    public static func attach(solutions path: String, to tasks: inout [ARCTask]) throws {
        let root = try parseFile(path)
        guard case .object(let entries) = root else { throw ARCDataError("\(path): expected an object mapping task ids to lists of output grids") }
        var index: [String: Int] = [:]
        for (k, t) in tasks.enumerated() { index[t.id] = k }
        for (id, v) in entries {
            guard let k = index[id] else { throw ARCDataError("\(path): task \(id) has a solution but is not among the loaded tasks") }
            guard case .array(let outs) = v else { throw ARCDataError("\(path): task \(id): expected a list of output grids, found \(v.typeDescription)") }
            guard outs.count == tasks[k].test.count else {
                throw ARCDataError("\(path): task \(id): \(outs.count) solution grids for \(tasks[k].test.count) test inputs")
            }
            for (j, o) in outs.enumerated() { tasks[k].test[j].output = try grid(o, at: "\(path): task \(id): solution \(j)") }
        }
    }
}

/// SEAL's task subsets (the paper's few-shot experiment), by name: `seal-train` (11 ARC training tasks: the ids of
/// `arc-agi_training_challenges_filtered_1B_training_set.json` without 8e1813be) and `seal-eval` (8 ARC evaluation
/// tasks). The names are accepted wherever task ids are (`arc.train_tasks`, `arc.eval_tasks`).
public enum ARCSets {
    public static let sealTrain = ["44f52bb0", "4be741c5", "5582e5ca", "5614dbcf", "5bd6f4ac", "6150a2bd",
                                   "67e8384a", "6d0aefbc", "6e02f1e3", "8be77c9e", "8d5021e8"]
    public static let sealEval = ["59341089", "66e6c45b", "68b67ca3", "903d1b4a", "b1fc8b8e", "bc4146bd",
                                  "c7d4e6ad", "ce8d95cc"]
    public static let named: [String: [String]] = ["seal-train": sealTrain, "seal-eval": sealEval]

    /// Expands set names into ids (order kept, duplicates dropped).
    public static func expand(_ names: [String]) -> [String] {
        var seen = Set<String>(), out: [String] = []
        for n in names { for id in named[n] ?? [n] where seen.insert(id).inserted { out.append(id) } }
        return out
    }

    /// The tasks with the given ids (or set names), in that order; an id not in `tasks` is an error naming it.
    public static func select(_ names: [String], from tasks: [ARCTask], source: String) throws -> [ARCTask] {
        if names.isEmpty { return tasks }
        var byID: [String: ARCTask] = [:]
        for t in tasks { byID[t.id] = t }
        return try expand(names).map { id in
            guard let t = byID[id] else { throw ARCDataError("\(source): no task \(id) (\(tasks.count) tasks loaded)") }
            return t
        }
    }
}
