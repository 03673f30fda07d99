/**
 * The model of operations that race. A round is a set of commands invoked together, none of which
 * has returned when the others start: linearizability allows them to take effect in any order, each
 * atomically. A clock advance in the round moves time after them, deadline by deadline; or, when the
 * round starts `early`, time first moves to the next deadline (or the advance's end), and there the
 * round's commands race the expiry of the calls due at that instant, before the rest of the advance
 * (the round's interruptions, delivered as it starts, come before the move).
 * `stepRound` returns every state the rules allow after the round, so a concurrent history is
 * checked by keeping the set of states that explain it so far.
 */
import { cloneState, type State } from "./State.ts"
import { type Command, step } from "./Step.ts"

/** A round: at most one advance; the other commands in any order. */
export type Round = ReadonlyArray<Command>

// Objects with their keys sorted, so that equal states (outcomes completed in another order) match.
const stateKey = (state: State): string =>
  JSON.stringify(state, (_, value) =>
    value !== null && typeof value === "object" && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)))
      : value
  )

// Expires the calls due now (an advance by 0 ms), as the timers that woke at this instant do.
const expireDue: Command = { _tag: "Advance", ms: 0 }

// Every state reachable by applying `commands` in some order (distinct states).
const inAnyOrder = (state: State, commands: ReadonlyArray<Command>): Array<State> => {
  const results = new Map<string, State>()
  const search = (s: State, remaining: ReadonlyArray<Command>): void => {
    if (remaining.length === 0) results.set(stateKey(s), s)
    remaining.forEach((command, i) => {
      for (const next of step(s, command)) search(next, [...remaining.slice(0, i), ...remaining.slice(i + 1)])
    })
  }
  search(state, commands)
  return [...results.values()]
}

/** Every state SPEC.md allows after the commands of `round` race (distinct states). */
export const stepRound = (state: State, round: Round, early = false): Array<State> => {
  const advances = round.filter((c) => c._tag === "Advance")
  if (advances.length > 1) throw new Error("a round has at most one advance")
  const others = round.filter((c) => c._tag !== "Advance")
  const advance = advances[0]
  if (advance?._tag !== "Advance") return inAnyOrder(state, others)
  const target = state.now + advance.ms
  if (!early) return inAnyOrder(state, others).flatMap((s) => step(s, advance))
  // The round's interruptions land before time moves (they are delivered as the round starts), so
  // the first stop is the earliest deadline of the calls they leave.
  const interrupts = others.filter((c) => c._tag === "Interrupt")
  const rest = others.filter((c) => c._tag !== "Interrupt")
  return inAnyOrder(state, interrupts).flatMap((interrupted) => {
    let stop = target
    for (const call of interrupted.calls)
      if (call.deadline > interrupted.now && call.deadline < stop) stop = call.deadline
    const moved = cloneState(interrupted)
    moved.now = stop
    return inAnyOrder(moved, [...rest, expireDue]).flatMap((s) => step(s, { _tag: "Advance", ms: target - stop }))
  })
}
