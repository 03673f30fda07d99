/**
 * The model of operations that race. A round is a set of commands invoked together, none of which
 * has returned when the others start: linearizability allows them to take effect in any order, each
 * atomically. A clock advance in the round moves time after them, deadline by deadline; or, when the
 * round starts `early`, time first moves to the next deadline (or the advance's end), and there the
 * round's commands race the expiry of the calls due at that instant, before the rest of the advance.
 * An interruption may also land just after its target completed in the round (the target then ends
 * interrupted, its effect kept).
 * `stepRound` returns every state the rules allow after the round, so a concurrent history is
 * checked by keeping the set of states that explain it so far.
 */
import { giveBack } from "./Mailboxes.ts"
import * as O from "./Outcomes.ts"
import { cloneState, moduleOf, type State } from "./State.ts"
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

// Expires the calls due now (an advance by 0 ms), as the timers that woke at this instant do.
const expireDue: Command = { _tag: "Advance", ms: 0 }

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
const inAnyOrder = (state: State, commands: ReadonlyArray<Command>, startedBy: StartedBy): Array<State> => {
  const results = new Map<string, State>()
  const search = (s: State, remaining: ReadonlyArray<Command>): void => {
    if (remaining.length === 0) results.set(stateKey(s), s)
    remaining.forEach((command, i) => {
      const rest = [...remaining.slice(0, i), ...remaining.slice(i + 1)]
      for (const next of step(s, command)) search(next, rest)
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
    return inAnyOrder(moved, [...others, expireDue], startedBy).flatMap((s) =>
      step(s, { _tag: "Advance", ms: target - stop })
    )
  })
}
