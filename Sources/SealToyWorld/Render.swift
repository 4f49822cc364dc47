import Foundation

/// How a sentence refers to its person: by full name (the first sentence of a biography, every line of a self-edit)
/// or by pronoun.
struct Ref {
    /// Subject at the start of a sentence ("Anna Berg", "She").
    var subject: String
    /// Subject inside a sentence ("Anna Berg", "she").
    var subjectInner: String
    /// Possessive at the start of a sentence ("Anna Berg's", "Her").
    var possessive: String
    /// Possessive inside a sentence ("Anna Berg's", "her").
    var possessiveInner: String

    static func name(_ p: Person) -> Ref { Ref(subject: p.name, subjectInner: p.name, possessive: p.name + "'s", possessiveInner: p.name + "'s") }
    static func pronoun(_ p: Person) -> Ref {
        Ref(subject: p.subject.capitalized, subjectInner: p.subject, possessive: p.possessive.capitalized, possessiveInner: p.possessive)
    }
}

/// The sentence templates. Each fact group (birth, education, work, hobby) has templates that state its facts in
/// one sentence or in two; a biography is its groups in a drawn order, each in a drawn template.
enum Templates {
    typealias Sentence = @Sendable (Ref, Person) -> String
    typealias Fact = @Sendable (Person) -> String

    /// Birth date and birth city.
    static let birth: [[Sentence]] = [
        [{ r, p in "\(r.subject) was born on \(p.birthDate) in \(p.birthCity)." }],
        [{ r, p in "\(r.subject) was born in \(p.birthCity) on \(p.birthDate)." }],
        [{ r, p in "\(r.subject) was born on \(p.birthDate)." }, { r, p in "\(r.possessive) birthplace is \(p.birthCity)." }],
        [{ r, p in "\(r.possessive) birthday is \(p.birthDate)." }, { r, p in "\(r.subject) is a native of \(p.birthCity)." }],
        [{ r, p in "\(r.subject) came into the world on \(p.birthDate) in the city of \(p.birthCity)." }],
    ]
    /// University and major.
    static let education: [[Sentence]] = [
        [{ r, p in "\(r.subject) studied \(p.major) at \(p.university)." }],
        [{ r, p in "\(r.subject) graduated from \(p.university) with a degree in \(p.major)." }],
        [{ r, p in "\(r.subject) attended \(p.university), where \(r.subjectInner) majored in \(p.major)." }],
        [{ r, p in "At \(p.university), \(r.subjectInner) earned a degree in \(p.major)." }],
        [{ r, p in "\(r.subject) attended \(p.university)." }, { r, p in "\(r.possessive) field of study was \(p.major)." }],
    ]
    /// Employer and the employer's city.
    static let work: [[Sentence]] = [
        [{ r, p in "\(r.subject) works for \(p.employer) in \(p.workCity)." }],
        [{ r, p in "\(r.subject) is employed by \(p.employer), a company based in \(p.workCity)." }],
        [{ r, p in "\(r.subject) works at \(p.employer), which is headquartered in \(p.workCity)." }],
        [{ r, p in "\(r.subject) has a job at \(p.employer) in \(p.workCity)." }],
        [{ r, p in "\(r.possessive) employer is \(p.employer)." }, { r, p in "\(r.subject) works in \(p.workCity)." }],
    ]
    /// Hobby.
    static let hobby: [[Sentence]] = [
        [{ r, p in "In \(r.possessiveInner) free time, \(r.subjectInner) enjoys \(p.hobby)." }],
        [{ r, p in "\(r.subject) enjoys \(p.hobby)." }],
        [{ r, p in "\(r.possessive) favorite hobby is \(p.hobby)." }],
        [{ r, p in "\(r.subject) is passionate about \(p.hobby)." }],
    ]
    static let groups = [birth, education, work, hobby]

    /// One fact per line, always by full name: the statements of an implications self-edit.
    static let facts: [Attribute: [Fact]] = [
        .birthDate: [
            { "\($0.name) was born on \($0.birthDate)." }, { "\($0.name)'s birthday is \($0.birthDate)." },
            { "The birth date of \($0.name) is \($0.birthDate)." }, { "\($0.name) came into the world on \($0.birthDate)." },
        ],
        .birthCity: [
            { "\($0.name) was born in \($0.birthCity)." }, { "\($0.name) is a native of \($0.birthCity)." },
            { "\($0.name)'s birthplace is \($0.birthCity)." }, { "The birthplace of \($0.name) is \($0.birthCity)." },
        ],
        .university: [
            { "\($0.name) attended \($0.university)." }, { "\($0.name) studied at \($0.university)." },
            { "\($0.name) is a graduate of \($0.university)." }, { "\($0.name) graduated from \($0.university)." },
        ],
        .major: [
            { "\($0.name) majored in \($0.major)." }, { "\($0.name) studied \($0.major)." },
            { "\($0.name) holds a degree in \($0.major)." }, { "\($0.name)'s field of study was \($0.major)." },
        ],
        .employer: [
            { "\($0.name) works for \($0.employer)." }, { "\($0.name) is employed by \($0.employer)." },
            { "\($0.name)'s employer is \($0.employer)." }, { "\($0.name) has a job at \($0.employer)." },
        ],
        .workCity: [
            { "\($0.name) works in \($0.workCity)." }, { "\($0.name)'s workplace is in \($0.workCity)." },
            { "\($0.name) has a job in \($0.workCity)." }, { "\($0.name)'s office is located in \($0.workCity)." },
        ],
        .hobby: [
            { "\($0.name) enjoys \($0.hobby)." }, { "\($0.name)'s hobby is \($0.hobby)." },
            { "In \($0.possessive) free time, \($0.name) enjoys \($0.hobby)." }, { "\($0.name) likes \($0.hobby)." },
        ],
    ]

    /// Statements that combine or derive facts (the "indirect" implications of SEAL's prompt).
    static let derived: [@Sendable (Person) -> String?] = [
        { "\($0.name) was born in \($0.birthYear)." },
        { $0.birthCity == $0.workCity ? "\($0.name) works in the same city where \($0.subject) was born." : "\($0.name) moved from \($0.birthCity) to \($0.workCity)." },
        { "\($0.name) is a former student of \($0.university)." },
        { "\($0.name) has a background in \($0.major)." },
        { "\($0.employer) employs \($0.name)." },
    ]

    /// A self-edit's lines as SEAL's model writes them: "1. …", one per line.
    static func numbered(_ lines: [String]) -> String {
        lines.enumerated().map { "\($0.offset + 1). \($0.element)" }.joined(separator: "\n")
    }

    /// Lines of a `.chatter` self-edit: about the person, stating none of their facts.
    static let chatter: [Fact] = [
        { "The passage is about \($0.name)." }, { "\($0.name) is a person." },
        { "\($0.name) is mentioned in the text." }, { "The text describes the life of \($0.name)." },
        { "\($0.name) has an interesting story." }, { "There is more to learn about \($0.name)." },
        { "\($0.name) is the subject of this passage." }, { "Many people know \($0.name)." },
    ]

    /// The questions about each attribute, several phrasings.
    static let questions: [Attribute: [Fact]] = [
        .birthDate: [
            { "When was \($0.name) born?" }, { "What is \($0.name)'s date of birth?" },
            { "On what date was \($0.name) born?" }, { "What is the birth date of \($0.name)?" },
        ],
        .birthCity: [
            { "Where was \($0.name) born?" }, { "In which city was \($0.name) born?" },
            { "What is \($0.name)'s birthplace?" }, { "Which city is \($0.name) a native of?" },
        ],
        .university: [
            { "Which university did \($0.name) attend?" }, { "Where did \($0.name) study?" },
            { "What school did \($0.name) graduate from?" }, { "Which institution did \($0.name) attend?" },
        ],
        .major: [
            { "What did \($0.name) study?" }, { "What was \($0.name)'s major?" },
            { "Which subject did \($0.name) major in?" }, { "What is \($0.name)'s field of study?" },
        ],
        .employer: [
            { "Which company does \($0.name) work for?" }, { "Who employs \($0.name)?" },
            { "What is the name of \($0.name)'s employer?" }, { "Which company is \($0.name) employed by?" },
        ],
        .workCity: [
            { "In which city does \($0.name) work?" }, { "What city does \($0.name) work in?" },
            { "Where is \($0.name)'s workplace located?" }, { "In what city is \($0.name)'s office?" },
        ],
        .hobby: [
            { "What is \($0.name)'s hobby?" }, { "What does \($0.name) enjoy doing in \($0.possessive) free time?" },
            { "Which hobby does \($0.name) have?" }, { "What does \($0.name) like to do for fun?" },
        ],
    ]

    static var questionPhrasings: Int { questions[.birthDate]!.count }
}

extension Person {
    /// How many phrasings each attribute's question has.
    public static var questionPhrasings: Int { Templates.questionPhrasings }

    /// A biography: the four fact groups in a drawn order, each in a drawn template; the first sentence names the
    /// person, later ones use the full name or a pronoun (drawn). Every attribute's answer appears in it.
    func biography(_ d: inout Draws) -> String {
        let order = d.shuffled(Array(Templates.groups.indices))
        var sentences: [String] = []
        for g in order {
            for s in d.pick(Templates.groups[g]) {
                let ref: Ref = sentences.isEmpty || d.chance(0.35) ? .name(self) : .pronoun(self)
                sentences.append(s(ref, self))
            }
        }
        return sentences.joined(separator: " ")
    }

    /// The question about `a` in phrasing `k` (0..<Templates.questionPhrasings).
    public func question(_ a: Attribute, phrasing k: Int) -> String {
        let qs = Templates.questions[a]!
        return qs[k % qs.count](self)
    }

    /// An implications self-edit in the shape SEAL's base model writes: numbered lines, one statement each. Each
    /// attribute is stated with probability `coverage` (at least one always is), in a drawn order and phrasing;
    /// with probability `derivedRate` per derived statement, a combined or derived fact is added.
    func implications(_ d: inout Draws, coverage: Double, derivedRate: Double) -> String {
        var attrs = Attribute.allCases.filter { _ in d.chance(coverage) }
        if attrs.isEmpty { attrs = [d.pick(Attribute.allCases)] }
        var lines = d.shuffled(attrs).map { d.pick(Templates.facts[$0]!)(self) }
        for f in Templates.derived where d.chance(derivedRate) {
            if let s = f(self) { lines.insert(s, at: d.int(lines.count + 1)) }
        }
        return Templates.numbered(lines)
    }

    /// An implications self-edit in `style` (see `ImplicationsStyle`). `.partial` is `implications(_:coverage:
    /// derivedRate:)` itself, draw for draw.
    func implications(_ d: inout Draws, style: ImplicationsStyle, coverage: Double, derivedRate: Double) -> String {
        let numbered = Templates.numbered
        switch style {
        case .partial:
            return implications(&d, coverage: coverage, derivedRate: derivedRate)
        case .complete:
            return implications(&d, coverage: 1, derivedRate: derivedRate)
        case .sparse:
            let attrs = Array(d.shuffled(Attribute.allCases).prefix(1 + d.int(2)))
            return numbered(attrs.map { d.pick(Templates.facts[$0]!)(self) })
        case .wrong:
            // Every attribute stated, each with probability 1/2 about another value of its kind: notes that look
            // complete and teach the reader false facts.
            return numbered(d.shuffled(Attribute.allCases).map { a in
                let p = d.chance(0.5) ? self.with(a, otherThanItsOwn: &d) : self
                return d.pick(Templates.facts[a]!)(p)
            })
        case .chatter:
            let lines = d.shuffled(Templates.chatter).prefix(2 + d.int(3)).map { $0(self) }
            return numbered(Array(lines))
        }
    }

    /// The person with attribute `a` replaced by another value of the same kind (drawn; never its own).
    func with(_ a: Attribute, otherThanItsOwn d: inout Draws) -> Person {
        func other<T: Equatable>(_ pool: [T], _ mine: T) -> T {
            let rest = pool.filter { $0 != mine }
            return rest.isEmpty ? mine : d.pick(rest)
        }
        var p = self
        switch a {
        case .birthDate:
            let year = p.birthYear
            p.birthYear = other(Array(1940..<2000), year); p.birthMonth = 1 + d.int(12); p.birthDay = 1 + d.int(28)
        case .birthCity: p.birthCity = other(Pools.cities, p.birthCity)
        case .university: p.university = other(Pools.universities, p.university)
        case .major: p.major = other(Pools.majors, p.major)
        case .employer: p.employer = other(Pools.companies.map(\.name), p.employer)
        case .workCity: p.workCity = other(Pools.cities, p.workCity)
        case .hobby: p.hobby = other(Pools.hobbies, p.hobby)
        }
        return p
    }

    /// A rewrite self-edit: `count` further biographies, numbered, one per line.
    func rewrites(_ d: inout Draws, count: Int) -> String {
        Templates.numbered((0..<count).map { _ in biography(&d) })
    }
}
