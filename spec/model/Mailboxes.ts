/**
 * Mailbox transitions of the model (R-SEND-2,3, R-RECV-2,3, R-CLEAN-3).
 *
 * A mailbox is stated here by what must hold between steps, not by the paths that keep it so: a
 * receiver waits only while the mailbox is empty, an offer waits only while it is full, and whoever
 * has waited longest goes first. Every transition makes one change (a receiver or an offer joins
 * its line, or leaves it) and then `settle` restores those two facts. The implementation instead
 * hands over or admits on each path; a path that forgets to is what this formulation exposes.
 */
import * as O from "./Outcomes.ts"
import { callOf, complete, type ModuleState, moduleOf, type Offer, type State } from "./State.ts"

const mailbox = (state: State, module: string): ModuleState => moduleOf(state, module) as ModuleState

/**
 * What happens to a waiting offer's operation when its entry is accepted (true) or refused by a
 * cleanup (false): R-SEND-2, R-SYNC-7, R-GROUP-3. A group-sync copy's fate needs nothing here: a
 * refused copy's member is gone, which the cleanup tells the call (R-GSYNC-5).
 */
export const settleOffer = (state: State, module: string, item: Offer, accepted: boolean): void => {
  switch (item.kind) {
    case "send":
      complete(state, item.op, accepted ? O.voidOk : O.moduleClosed(module))
      return
    case "sync": {
      const call = callOf(state, item.entry.slice(0, -1))
      if (call?.kind !== "sync") return
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
      if (send.waiting.length > 0) return
      // Both lists in join order, whatever order the copies were settled in.
      complete(
        state,
        send.op,
        O.groupSendResult(
          send.members.filter((m) => !send.gone.includes(m)),
          send.members.filter((m) => send.gone.includes(m))
        )
      )
      state.groupSends = state.groupSends.filter((g) => g !== send)
      return
    }
    case "groupCopy":
      return
  }
}

// Restores the two facts, oldest first: the oldest receiver takes the oldest message while both
// exist; the oldest offer moves in while there is room (R-SEND-2: before any newcomer). `fresh` is
// the offer being made now: its caller reports whether it was accepted at once.
const settle = (state: State, module: string, fresh?: Offer): void => {
  const mod = mailbox(state, module)
  for (;;) {
    if (mod.receivers.length > 0 && mod.queue.length > 0) {
      complete(state, mod.receivers.shift() as string, O.ok(O.message(mod.queue.shift() as string)))
    } else if (mod.senders.length > 0 && mod.queue.length < mod.capacity) {
      const item = mod.senders.shift() as Offer
      mod.queue.push(item.entry)
      if (item !== fresh) settleOffer(state, module, item, true)
    } else return
  }
}

/** Offers an entry to a module's mailbox, behind the offers already waiting; true when accepted at once. */
export const offer = (state: State, module: string, item: Offer): boolean => {
  const mod = mailbox(state, module)
  mod.senders.push(item)
  settle(state, module, item)
  return !mod.senders.includes(item)
}

/** A receive: joins the receivers' line, and takes the oldest message if it is first in line. */
export const take = (state: State, module: string, op: string): void => {
  mailbox(state, module).receivers.push(op)
  settle(state, module)
}

/**
 * Withdraws every waiting offer of `op` (interruption, deadline, call ended). An offer waits only
 * while its mailbox is full, so leaving the line frees no room: nothing else moves.
 */
export const withdrawOffers = (state: State, op: string): void => {
  for (const [, mod] of state.modules) mod.senders = mod.senders.filter((o) => o.op !== op)
}

/**
 * A message an interrupted receive had been handed goes back to the head of the mailbox, so the next
 * waiting receiver gets it; the mailbox may hold one more than its capacity (R-RECV-4).
 */
export const giveBack = (state: State, module: string, entry: string): void => {
  mailbox(state, module).queue.unshift(entry)
  settle(state, module)
}
