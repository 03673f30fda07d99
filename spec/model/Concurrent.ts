/**
 * The model of operations that race. A round is a set of commands invoked together, none of which
 * has returned when the others start: linearizability allows them to take effect in any order, each
 * atomically. A clock advance in the round moves time after them, deadline by deadline; or, when the
 * round starts `early`, time first moves to the next deadline (or the advance's end), and there the
 * round's commands race the expiry of each call due at that instant, before the rest of the advance:
 * every timer due at an instant is a ready task of its own (R-DET-2), so a command may land between
 * the expiries of two calls with the same deadline.
 * An interruption may also land just after its target completed in the round (the target then ends
 * interrupted, its effect kept).
 * `stepRound` returns every state the rules allow after the round, so a concurrent history is
 * checked by keeping the set of states that explain it so far.
 */

import { expireCall } from "./Calls.ts"
import { giveBack } from "./Mailboxes.ts"
import * as O from "./Outcomes.ts"
import { callOf, cloneState, moduleOf, type State } from "./State.ts"
import { type Command, step } from "./Step.ts"

/** A round: at most one advance; the other commands in any order. */
export type Round = ReadonlyArray<Command>

/** A state as a string, its objects' keys sorted, so that equal states (outcomes completed in another order) match. */
export const stateKey = (state: unknown): string =>
  JSON.stringify(state, (_, value) =>
    value !== null && typeof value === "object" && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)))
      : value
  )

/** The expiry of one call due now, as its timer that woke at this instant does. */
interface Expiry {
  readonly _tag: "Expiry"
  readonly id: string
}

/** What races in a round: its commands, and the expiries due at its instant. */
type Move = Command | Expiry

// A call ended before its expiry came (answered, dropped, interrupted) stays ended.
const applyMove = (state: State, move: Move): Array<State> => {
  if (move._tag !== "Expiry") return step(state, move)
  const next = cloneState(state)
  const call = callOf(next, move.id)
  if (call !== undefined && call.deadline <= next.now) expireCall(next, call)
  return [next]
}

/** The command that started an operation, for an interruption of it. */
export type StartedBy = (op: string) => Command | undefined

/**
 * An interruption that arrives as its target completes (Effect withdraws a wait one operation after
 * the interruption): the target ends interrupted, what it did stays done, and a receive's message goes
 * back to the head of its mailbox (R-RECV-4, R-SEND-3, R-GLOBAL-6). Only a target that completed in
 * this round can: the round's outcomes are the only ones a state holds. Undefined when it cannot.
 */
export const lateInterrupt = (state: State, target: string, startedBy: StartedBy): State | undefined => {
  const outcome = state.outcomes[target]
  if (outcome === undefined || outcome === O.interrupted) return undefined
  const next = cloneState(state)
  next.outcomes[target] = O.interrupted
  const command = startedBy(target)
  const taken = O.ok(O.message(""))
  if (command?._tag === "Receive" && outcome.startsWith(taken) && moduleOf(next, command.module) !== undefined)
    giveBack(next, command.module, outcome.slice(taken.length))
  return next
}

// Every state reachable by applying `commands` in some order (distinct states).
const inAnyOrder = (state: State, commands: ReadonlyArray<Move>, startedBy: StartedBy): Array<State> => {
  const results = new Map<string, State>()
  const search = (s: State, remaining: ReadonlyArray<Move>): void => {
    if (remaining.length === 0) results.set(stateKey(s), s)
    remaining.forEach((command, i) => {
      const rest = [...remaining.slice(0, i), ...remaining.slice(i + 1)]
      for (const next of applyMove(s, command)) search(next, rest)
      const late = command._tag === "Interrupt" ? lateInterrupt(s, command.target, startedBy) : undefined
      if (late !== undefined) search(late, rest)
    })
  }
  search(state, commands)
  return [...results.values()]
}

// The first stop of an early advance: the earliest deadline up to the target, or the target.
const firstStop = (state: State, target: number): number => {
  let stop = target
  for (const call of state.calls) if (call.deadline > state.now && call.deadline < stop) stop = call.deadline
  return stop
}

/**
 * Every state SPEC.md allows after the commands of `round` race (distinct states). `startedBy` tells
 * which command started an operation that a round's interruption targets. `state.outcomes` must hold
 * no outcome of an earlier round (the runner moves them out after checking them), so that an outcome
 * found there was reached in this round.
 */
export const stepRound = (
  state: State,
  round: Round,
  early = false,
  startedBy: StartedBy = () => undefined
): Array<State> => {
  const advances = round.filter((c) => c._tag === "Advance")
  if (advances.length > 1) throw new Error("a round has at most one advance")
  const others = round.filter((c) => c._tag !== "Advance")
  const advance = advances[0]
  if (advance?._tag !== "Advance") return inAnyOrder(state, others, startedBy)
  const target = state.now + advance.ms
  if (!early) return inAnyOrder(state, others, startedBy).flatMap((s) => step(s, advance))
  // Time moves to the first stop as the round starts, after its interruptions have been delivered:
  // the timer of a call they interrupt is gone by then, or (its withdrawal one operation later) not
  // yet, so the stop is the earliest deadline with or without those calls.
  const interrupts = others.filter((c) => c._tag === "Interrupt")
  const interrupted = inAnyOrder(state, interrupts, startedBy)
  const stops = new Set([firstStop(state, target), ...interrupted.map((s) => firstStop(s, target))])
  return [...stops].flatMap((stop) => {
    const moved = cloneState(state)
    moved.now = stop
    const due = moved.calls.filter((c) => c.deadline <= stop).map((c): Expiry => ({ _tag: "Expiry", id: c.id }))
    return inAnyOrder(moved, [...others, ...due], startedBy).flatMap((s) =>
      step(s, { _tag: "Advance", ms: target - stop })
    )
  })
}
