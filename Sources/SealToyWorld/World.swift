import Foundation
import SealCore
import SealModel

/// The facts a biography states and a question asks about, one question per attribute.
public enum Attribute: String, CaseIterable, Sendable {
    case birthDate = "birth_date"
    case birthCity = "birth_city"
    case university
    case major
    case employer
    case workCity = "work_city"
    case hobby
}

/// A fictional person: indices into `Pools` plus the rendered values.
public struct Person: Sendable, Equatable {
    public var firstName: String
    public var lastName: String
    public var female: Bool
    public var birthYear: Int
    public var birthMonth: Int  // 1...12
    public var birthDay: Int    // 1...28
    public var birthCity: String
    /// As written inside a sentence ("the University of Dunmore").
    public var university: String
    public var major: String
    public var employer: String
    public var workCity: String
    public var hobby: String

    public var name: String { "\(firstName) \(lastName)" }
    public var birthDate: String { "\(Pools.months[birthMonth - 1]) \(birthDay), \(birthYear)" }

    /// The gold answer to a question about `a`: a substring of every biography of this person.
    public func answer(_ a: Attribute) -> String {
        switch a {
        case .birthDate: return birthDate
        case .birthCity: return birthCity
        case .university: return university.hasPrefix("the ") ? String(university.dropFirst(4)) : university
        case .major: return major
        case .employer: return employer
        case .workCity: return workCity
        case .hobby: return hobby
        }
    }

    var subject: String { female ? "she" : "he" }
    var possessive: String { female ? "her" : "his" }
}

/// Deterministic draws from one counter-based stream: draw i of stream s under the world seed is a pure function of
/// (seed, s, i), so every platform, thread count and call order gives the same world.
struct Draws {
    let rng: CounterRNG
    let stream: UInt64
    var index: UInt64 = 0

    init(seed: UInt64, stream: UInt64) {
        rng = CounterRNG(seed: seed)
        self.stream = stream
    }

    /// A uniform integer in 0..<n (integer arithmetic only; the modulo bias is below 2⁻⁵⁰ for these sizes).
    mutating func int(_ n: Int) -> Int {
        precondition(n > 0)
        let b = rng.bits(stream: stream, index: index)
        index &+= 1
        return Int(b % UInt64(n))
    }

    /// True with probability `p` (p in [0, 1], resolved to 1/2⁵³).
    mutating func chance(_ p: Double) -> Bool {
        let u = rng.uniform(stream: stream, index: index)
        index &+= 1
        return u < p
    }

    mutating func pick<T>(_ a: [T]) -> T { a[int(a.count)] }

    /// Fisher–Yates with this stream's draws.
    mutating func shuffled<T>(_ a: [T]) -> [T] {
        var a = a
        if a.count < 2 { return a }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, int(i + 1)) }
        return a
    }
}

/// Stream identifiers: one per (purpose, population, person, variant), mixed into a 64-bit stream id.
enum Streams {
    static func id(_ parts: UInt64...) -> UInt64 {
        var h: UInt64 = 0x70F_3011D
        for p in parts { h = CounterRNG.mix(h ^ CounterRNG.mix(p)) }
        return h
    }
    static let people: UInt64 = 1, bio: UInt64 = 2, question: UInt64 = 3, implications: UInt64 = 4
    static let rewrite: UInt64 = 5, corpus: UInt64 = 6
}

public enum Population: UInt64, Sendable {
    case known = 1, new = 2, practice = 3
}

public struct ToyWorldError: Error, CustomStringConvertible {
    public var message: String
    public init(_ m: String) { message = m }
    public var description: String { message }
}

/// The toy world: disjoint populations drawn from one seed. *Known* people are what the model is pretrained on;
/// *new* people are SEAL's contexts (only their passage is ever given; their questions are the reward); *practice*
/// people appear only inside self-edit examples of the corpus, each once: the model cannot know them, so it must
/// learn to write a self-edit by reading the passage in its prompt (with only known people it could recite what it
/// memorised instead, and never learn to copy).
public struct ToyWorld: Sendable {
    public let seed: UInt64
    public let known: [Person]
    public let new: [Person]
    public let practice: [Person]

    /// How many distinct full names the pools allow.
    public static var nameCapacity: Int { (Pools.femaleFirst.count + Pools.maleFirst.count) * Pools.last.count }

    /// People are drawn one after another from one stream (known, then new, then practice); a drawn name already
    /// taken is drawn again, so no two people in the world share a name. A population's people do not depend on the
    /// sizes of the populations drawn after it.
    public init(seed: UInt64, known: Int, new: Int, practice: Int = 0) throws {
        guard known >= 0, new >= 0, practice >= 0 else { throw ToyWorldError("people counts must be ≥ 0") }
        // Rejection sampling slows down as the pools fill; half the capacity keeps it fast. (Each count is
        // checked alone first, so that the sum cannot overflow.)
        let cap = Self.nameCapacity / 2
        guard known <= cap, new <= cap, practice <= cap else {
            throw ToyWorldError("at most \(cap) people (known + new + practice) fit the name pools; asked for \(known) + \(new) + \(practice)")
        }
        let total = known + new + practice
        guard total <= Self.nameCapacity / 2 else {
            throw ToyWorldError("at most \(Self.nameCapacity / 2) people (known + new + practice) fit the name pools; asked for \(total)")
        }
        self.seed = seed
        var d = Draws(seed: seed, stream: Streams.id(Streams.people))
        var taken = Set<String>()
        func draw() -> Person {
            while true {
                let female = d.int(2) == 0
                let first = female ? d.pick(Pools.femaleFirst) : d.pick(Pools.maleFirst)
                let last = d.pick(Pools.last)
                let year = 1940 + d.int(60)
                let month = 1 + d.int(12)
                let day = 1 + d.int(28)
                let city = d.pick(Pools.cities)
                let uni = d.pick(Pools.universities)
                let major = d.pick(Pools.majors)
                let company = d.pick(Pools.companies)
                let hobby = d.pick(Pools.hobbies)
                let name = first + " " + last
                if taken.contains(name) { continue }
                taken.insert(name)
                return Person(firstName: first, lastName: last, female: female, birthYear: year, birthMonth: month,
                              birthDay: day, birthCity: city, university: uni, major: major, employer: company.name,
                              workCity: Pools.cities[company.city], hobby: hobby)
            }
        }
        self.known = (0..<known).map { _ in draw() }
        self.new = (0..<new).map { _ in draw() }
        self.practice = (0..<practice).map { _ in draw() }
    }
}
