/**
 * Synchronous calls of the model (R-SYNC, R-RESP, R-GSYNC): reply slots and group collectors, the
 * routing of responses by parent id, and deadlines.
 */
import { withdrawOffers } from "./Mailboxes.ts"
import * as O from "./Outcomes.ts"
import { type Call, callOf, complete, type GroupCall, removeCall, type State } from "./State.ts"

const missing = (call: GroupCall) => call.members.filter((m) => !call.answered.some(([a]) => a === m))
const responded = (call: GroupCall) => call.answered.map(([m]) => m)
const needed = (call: GroupCall) => call.members.length - call.gone.length

/** Ends a call with `outcome`, withdrawing whatever it still offers. */
export const endCall = (state: State, call: Call, outcome: string): void => {
  complete(state, call.op, outcome)
  withdrawOffers(state, call.op)
  removeCall(state, call)
}

/** Completes a group call if every member that is not gone has answered (R-GSYNC-2,3,5). */
export const checkGroup = (state: State, call: GroupCall): void => {
  if (call.answered.length + call.anonymous.length < needed(call)) return
  if (call.uninvited > 0)
    endCall(state, call, O.groupSyncError("Uninvited", missing(call), responded(call), call.uninvited))
  else if (call.gone.length > 0)
    endCall(state, call, O.groupSyncError("MemberGone", [...call.gone], responded(call), 0))
  else endCall(state, call, O.groupSyncResult(call.answered, call.anonymous))
}

/** sendResp: true when a pending call took the response (R-RESP-1,2, R-GSYNC-3,6). */
export const respond = (state: State, response: string, parentId: string, from: string | undefined): boolean => {
  const call = callOf(state, parentId)
  if (call === undefined) return false
  if (call.kind === "sync") {
    endCall(state, call, O.ok(O.message(response)))
    return true
  }
  let counted: boolean
  if (from === undefined) {
    counted = call.answered.length + call.anonymous.length < needed(call)
    if (counted) call.anonymous.push(response)
  } else {
    counted = call.members.includes(from) && !call.answered.some(([m]) => m === from)
    if (counted) {
      call.gone = call.gone.filter((m) => m !== from)
      call.answered.push([from, response])
    }
  }
  if (!counted) call.uninvited++
  checkGroup(state, call)
  return counted
}

/** A module was cleaned up: group calls stop waiting for it (R-GSYNC-5). */
export const memberGone = (state: State, module: string): void => {
  for (const call of [...state.calls]) {
    if (call.kind !== "group" || !call.members.includes(module) || call.answered.some(([m]) => m === module)) continue
    if (!call.gone.includes(module)) call.gone.push(module)
    checkGroup(state, call)
  }
}

/** Expires the calls whose deadline is at or before `time`, in deadline order (R-SYNC-5, R-GSYNC-4). */
export const expire = (state: State, time: number): void => {
  const due = state.calls.filter((c) => c.deadline <= time).sort((a, b) => a.deadline - b.deadline)
  for (const call of due) {
    if (callOf(state, call.id) !== call) continue
    state.now = Math.max(state.now, call.deadline)
    if (call.kind === "sync") endCall(state, call, O.syncTimeout(call.id, call.phase, call.timeoutMs))
    else endCall(state, call, O.groupSyncError("Timeout", missing(call), responded(call), call.uninvited))
  }
}
