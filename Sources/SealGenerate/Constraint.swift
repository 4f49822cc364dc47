import Foundation

/// A rule on what one generated sequence may contain, applied token by token while sampling (constrained
/// decoding). Before each step the generator asks which tokens may come next; the sampler then draws among those
/// only (temperature, top-k and top-p act on the allowed tokens, as a logits mask placed before transformers'
/// warpers would), so a disallowed token is never chosen. The chosen token advances the state.
///
/// The state is a value: each (prompt, sample) carries its own, so a constrained sample depends, as an
/// unconstrained one does, only on (seed, prompt key, sample index), whatever the batch or order.
///
/// EOS is the generator's business, not the constraint's: the allowed list never holds EOS ids; where
/// `isComplete` says the text so far is a finished structure, the generator adds the model's EOS ids. A complete
/// state that allows nothing more therefore forces EOS.
public protocol DecodingConstraint: Sendable {
    associatedtype State: Sendable
    /// The state before the first new token.
    var initialState: State { get }
    /// Appends the ids that may come next to `allowed` (which the caller has emptied), with `remaining` tokens
    /// left including this one. Must not allocate per call beyond `allowed`'s growth: it runs at every step.
    func allowedTokens(_ state: State, remaining: Int, into allowed: inout [Int32])
    /// Whether the text so far is complete, so that the sequence may end here.
    func isComplete(_ state: State) -> Bool
    /// The state after `token`, one of the ids `allowedTokens` gave for `state`.
    func advance(_ state: State, token: Int) -> State
}

extension DecodingConstraint {
    func makeCursor() -> ConstraintCursor { Cursor(self) }
}

/// One sequence's position in its constraint, with the constraint's type erased (made once per sample, never per
/// step).
class ConstraintCursor {
    func allowedTokens(remaining: Int, into allowed: inout [Int32]) { fatalError("abstract") }
    var isComplete: Bool { fatalError("abstract") }
    func advance(token: Int) { fatalError("abstract") }
}

final class Cursor<C: DecodingConstraint>: ConstraintCursor {
    let constraint: C
    var state: C.State
    init(_ c: C) { constraint = c; state = c.initialState }
    override func allowedTokens(remaining: Int, into allowed: inout [Int32]) {
        constraint.allowedTokens(state, remaining: remaining, into: &allowed)
    }
    override var isComplete: Bool { constraint.isComplete(state) }
    override func advance(token: Int) { state = constraint.advance(state, token: token) }
}
