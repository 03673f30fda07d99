/**
 * Mailbox transitions of the model (R-SEND, R-RECV, R-CLEAN-3/4): offers go to the oldest waiting
 * receiver, else into the queue if there is room, else wait in line; a receive takes the oldest
 * message and admits the oldest waiting offer.
 */
import * as O from "./Outcomes.ts"
import { callOf, complete, type GroupCall, type ModuleState, moduleOf, type Offer, type State } from "./State.ts"

/** Offers an entry to a module's mailbox; true when accepted at once. */
export const offer = (state: State, module: string, item: Offer): boolean => {
  const mod = moduleOf(state, module) as ModuleState
  const receiver = mod.receivers.shift()
  if (receiver !== undefined) {
    complete(state, receiver, O.ok(O.message(item.entry)))
    return true
  }
  if (mod.queue.length < mod.capacity) {
    mod.queue.push(item.entry)
    return true
  }
  mod.senders.push(item)
  return false
}

/** What happens to an offer's operation when its entry is accepted (true) or refused by a cleanup (false). */
export const settleOffer = (state: State, module: string, item: Offer, accepted: boolean): void => {
  switch (item.kind) {
    case "send":
      complete(state, item.op, accepted ? O.voidOk : O.moduleClosed(module))
      return
    case "sync": {
      const call = callOf(state, item.entry.slice(0, -1))
      if (call === undefined || call.kind !== "sync") return
      if (accepted) call.phase = "response"
      else {
        complete(state, call.op, O.moduleClosed(module))
        state.calls = state.calls.filter((c) => c !== call)
      }
      return
    }
    case "copy": {
      const send = state.groupSends.find((g) => g.op === item.op)
      if (send === undefined) return
      send.waiting = send.waiting.filter((m) => m !== module)
      if (!accepted) send.gone.push(module)
      if (send.waiting.length === 0) {
        const gone = send.members.filter((m) => send.gone.includes(m))
        complete(
          state,
          send.op,
          O.groupSendResult(
            send.members.filter((m) => !gone.includes(m)),
            gone
          )
        )
        state.groupSends = state.groupSends.filter((g) => g !== send)
      }
      return
    }
    case "groupCopy": {
      const call = callOf(state, item.entry.slice(0, -1)) as GroupCall | undefined
      if (call !== undefined) call.pendingCopies = call.pendingCopies.filter((m) => m !== module)
    }
  }
}

/** Moves the oldest waiting offer into the queue if there is room. */
export const admit = (state: State, module: string): void => {
  const mod = moduleOf(state, module) as ModuleState
  if (mod.senders.length === 0 || mod.queue.length >= mod.capacity) return
  const item = mod.senders.shift() as Offer
  mod.queue.push(item.entry)
  settleOffer(state, module, item, true)
}

/** A receive: the oldest message at once, or waiting in line. */
export const take = (state: State, module: string, op: string): void => {
  const mod = moduleOf(state, module) as ModuleState
  const entry = mod.queue.shift()
  if (entry === undefined) {
    mod.receivers.push(op)
    return
  }
  complete(state, op, O.ok(O.message(entry)))
  admit(state, module)
}

/** Withdraws every waiting offer of `op` (interruption, deadline, call ended). */
export const withdrawOffers = (state: State, op: string): void => {
  for (const [, mod] of state.modules) mod.senders = mod.senders.filter((o) => o.op !== op)
}
