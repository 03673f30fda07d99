/**
 * Synchronous calls of the model (R-SYNC, R-RESP, R-GSYNC): reply slots and group calls, the routing
 * of responses by parent id, and deadlines.
 *
 * A group call keeps only what reached it, in order (`GroupCall.history`), and every question about
 * it (which responses counted, who is gone, whether it has decided, how) is answered by reading the
 * rules over that history afresh. The implementation keeps running counters instead; stating the
 * rules a second way, over the raw events, is what lets the state machine catch a counter that
 * drifts from them.
 */
import { withdrawOffers } from "./Mailboxes.ts"
import * as O from "./Outcomes.ts"
import { type Call, callOf, complete, type GroupCall, type GroupEvent, removeCall, type State } from "./State.ts"

/** What one response that reached an open group call was taken as. */
type Fate = "answer" | "standIn" | "uninvited"

/** A group call's history read through R-GSYNC-2..6. */
interface Reading {
  /** Counted responses attributed to members: [member, response], in arrival order. */
  readonly answers: ReadonlyArray<readonly [string, string]>
  /** Counted unattributed responses, in arrival order. */
  readonly standIns: ReadonlyArray<string>
  /** The fate of the history's last event, if it is a response. */
  readonly last: Fate | undefined
  /** Members cleaned up and never answering, in join order. */
  readonly gone: ReadonlyArray<string>
  readonly uninvited: number
  /** Members with no counted response of their own, in join order (R-GSYNC-4's `missing`). */
  readonly unanswered: ReadonlyArray<string>
  /** No member is awaited without an unattributed response standing for it (R-GSYNC-2,5,6). */
  readonly decided: boolean
}

// Each fact is a predicate over the events before a point of the history, so each response's fate
// depends on what came before it only, and the call's state is the facts at the end.
const read = ({ members, history }: GroupCall): Reading => {
  const fates: Array<Fate | undefined> = []
  const answered = (member: string, before: number) =>
    history.some((e, j) => j < before && fates[j] === "answer" && e.kind === "response" && e.from === member)
  const cleaned = (member: string, before: number) =>
    history.some((e, j) => j < before && e.kind === "gone" && e.member === member)
  // A member answering after its cleanup has answered (R-GSYNC-2): it is awaited no more either way.
  const awaited = (before: number) => members.filter((m) => !answered(m, before) && !cleaned(m, before))
  const standIns = (before: number) => fates.slice(0, before).filter((f) => f === "standIn").length
  history.forEach((e, i) => {
    if (e.kind === "gone") fates.push(undefined)
    else if (e.from === undefined) fates.push(awaited(i).length > standIns(i) ? "standIn" : "uninvited")
    else fates.push(members.includes(e.from) && !answered(e.from, i) ? "answer" : "uninvited")
  })
  const end = history.length
  const responses = (fate: Fate) => history.flatMap((e, j) => (fates[j] === fate && e.kind === "response" ? [e] : []))
  return {
    answers: responses("answer").map((e) => [e.from as string, e.response] as const),
    standIns: responses("standIn").map((e) => e.response),
    last: fates[end - 1],
    gone: members.filter((m) => cleaned(m, end) && !answered(m, end)),
    uninvited: responses("uninvited").length,
    unanswered: members.filter((m) => !answered(m, end)),
    decided: awaited(end).length <= standIns(end)
  }
}

const responded = (r: Reading) => r.answers.map(([m]) => m)

// R-GSYNC-3 before R-GSYNC-5: uninvited responses are reported even when a member is also gone.
const verdict = (r: Reading): string => {
  if (r.uninvited > 0) return O.groupSyncError("Uninvited", r.unanswered, responded(r), r.uninvited)
  if (r.gone.length > 0) return O.groupSyncError("MemberGone", r.gone, responded(r), 0)
  return O.groupSyncResult(r.answers, r.standIns)
}

/** Ends a call with `outcome`, withdrawing whatever it still offers. */
export const endCall = (state: State, call: Call, outcome: string): void => {
  complete(state, call.op, outcome)
  withdrawOffers(state, call.op)
  removeCall(state, call)
}

/** A group call that has just started: members fixed, nothing received (R-GSYNC-1). */
export const openGroupCall = (
  op: string,
  id: string,
  group: string,
  members: ReadonlyArray<string>,
  deadline: number
): GroupCall => ({ kind: "group", op, id, group, members: [...members], deadline, history: [] })

// Records what reached an open group call and ends the call if the history now decides it.
const record = (state: State, call: GroupCall, event: GroupEvent): Reading => {
  call.history.push(event)
  const reading = read(call)
  if (reading.decided) endCall(state, call, verdict(reading))
  return reading
}

/** sendResp: true when a pending call took the response (R-RESP-1,2, R-GSYNC-3,6). */
export const respond = (state: State, response: string, parentId: string, from: string | undefined): boolean => {
  const call = callOf(state, parentId)
  if (call === undefined) return false
  if (call.kind === "sync") {
    endCall(state, call, O.ok(O.message(response)))
    return true
  }
  return record(state, call, { kind: "response", response, from }).last !== "uninvited"
}

/** A module was cleaned up: group calls it is a member of stop waiting for it (R-GSYNC-5, R-CLEAN-7). */
export const memberGone = (state: State, module: string): void => {
  for (const call of [...state.calls]) {
    if (call.kind === "group" && call.members.includes(module)) record(state, call, { kind: "gone", member: module })
  }
}

/** Expires the calls whose deadline is at or before `time`, in deadline order (R-SYNC-5, R-GSYNC-4). */
export const expire = (state: State, time: number): void => {
  const due = state.calls.filter((c) => c.deadline <= time).sort((a, b) => a.deadline - b.deadline)
  for (const call of due) {
    if (callOf(state, call.id) !== call) continue
    state.now = Math.max(state.now, call.deadline)
    expireCall(state, call)
  }
}

/** Ends a pending call at its deadline: `SyncTimeout` with its phase, or the group call's `Timeout` (R-SYNC-5, R-GSYNC-4). */
export const expireCall = (state: State, call: Call): void => {
  if (call.kind === "sync") endCall(state, call, O.syncTimeout(call.id, call.phase, call.timeoutMs))
  else {
    const r = read(call)
    endCall(state, call, O.groupSyncError("Timeout", r.unanswered, responded(r), r.uninvited))
  }
}
