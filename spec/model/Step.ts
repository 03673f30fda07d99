/**
 * The reference model's step function: one case per operation start, per clock advance, per
 * interruption. `step` returns the states SPEC.md allows after the command; for the commands below
 * the rules allow exactly one.
 */
import { endCall, expire, memberGone, openGroupCall, respond } from "./Calls.ts"
import { offer, settleOffer, take, withdrawOffers } from "./Mailboxes.ts"
import * as O from "./Outcomes.ts"
import { callOf, cloneState, complete, membersOf, moduleOf, type State } from "./State.ts"

/** The commands of the model, named as the implementation's operations. `op` names the operation. */
export type Command =
  | { readonly _tag: "AddModule"; readonly op: string; readonly module: string; readonly capacity: number }
  | { readonly _tag: "AddModuleGroup"; readonly op: string; readonly module: string; readonly group: string }
  | { readonly _tag: "Cleanup"; readonly op: string; readonly module: string }
  | {
      readonly _tag: "Send"
      readonly op: string
      readonly module: string
      readonly id: string
      /** The message's route.source; no rule depends on it (a module may send to itself). */
      readonly source?: string | undefined
    }
  | { readonly _tag: "Receive"; readonly op: string; readonly module: string }
  | {
      readonly _tag: "SendSync"
      readonly op: string
      readonly module: string
      readonly id: string
      /** Absent or ≤ 0: the default (R-SYNC-1). */
      readonly timeoutMs: number | undefined
      readonly source?: string | undefined
    }
  | {
      readonly _tag: "SendResp"
      readonly op: string
      readonly id: string
      readonly parentId: string
      readonly from: string | undefined
    }
  | {
      readonly _tag: "SendToGroup"
      readonly op: string
      readonly group: string
      readonly id: string
      /** A member as the source still gets its copy (R-GROUP-2). */
      readonly source?: string | undefined
    }
  | {
      readonly _tag: "SendToGroupSync"
      readonly op: string
      readonly group: string
      readonly id: string
      /** Absent or ≤ 0: the default (R-GSYNC-1). */
      readonly timeoutMs: number | undefined
      readonly source?: string | undefined
    }
  | { readonly _tag: "Advance"; readonly ms: number }
  | { readonly _tag: "Interrupt"; readonly target: string }
  | { readonly _tag: "Shutdown"; readonly op: string }
  /**
   * The network drops every connection and the client connects again (spec/model/Remote.ts). One
   * process has no connection: the one-process model does nothing.
   */
  | { readonly _tag: "Reconnect" }
  /** One end of the connection stops reading, until a `Resume` (spec/model/Remote.ts); nothing here. */
  | { readonly _tag: "Stall"; readonly end: "server" | "client" }
  | { readonly _tag: "Resume" }
  /**
   * The server process dies (its connection breaks at once) and starts again with the modules and
   * groups it was configured with; the client connects to it after its backoff (spec/model/Remote.ts).
   * One process has no peer to crash: the one-process model does nothing.
   */
  | { readonly _tag: "Crash" }
  /**
   * The client closes its connection, and stays closed until a `Reconnect` (spec/model/Remote.ts).
   * Nothing here.
   */
  | { readonly _tag: "CloseClient" }
  /**
   * Reads from now on hand out at most `bytes` (0: what was written, as written): frames split across
   * reads and joined in one (R-SOCK-1). Nothing a module sees changes, in either model.
   */
  | { readonly _tag: "ReadSize"; readonly bytes: number }

/** The timeout of a call given none, or one ≤ 0 (R-SYNC-1). */
export const DefaultTimeout = 30_000

/** Removes a module as `cleanup` does (R-CLEAN); returns its groups and what its mailbox held. */
export const cleanupModule = (state: State, module: string): [Array<string>, Array<string>] => {
  const index = state.modules.findIndex(([n]) => n === module)
  const [, mod] = state.modules[index] as [string, NonNullable<ReturnType<typeof moduleOf>>]
  state.modules.splice(index, 1)
  for (const group of mod.groups) {
    const members = membersOf(state, group) as Array<string>
    members.splice(members.indexOf(module), 1)
    if (members.length === 0) state.groups = state.groups.filter(([g]) => g !== group)
  }
  for (const receiver of mod.receivers) complete(state, receiver, O.moduleClosed(module))
  for (const item of mod.senders) settleOffer(state, module, item, false)
  for (const entry of mod.queue) {
    if (!entry.endsWith("!")) continue
    const call = callOf(state, entry.slice(0, -1))
    if (call?.kind === "sync" && call.module === module) endCall(state, call, O.requestDropped(call.id))
  }
  memberGone(state, module)
  return [mod.groups, mod.queue]
}

/**
 * Applies `command` to `state` itself and returns the outcome of the operation it names, if it ended
 * at once, without recording it (operations it ended on the way, such as waiting receivers, are).
 */
export const applyCommand = (state: State, command: Command): string | undefined => {
  const refused = state.shutdown
  switch (command._tag) {
    case "AddModule": {
      if (refused) return O.shutdownError("addModule")
      if (moduleOf(state, command.module)) return O.moduleAlreadyExists(command.module)
      state.modules.push([
        command.module,
        { capacity: command.capacity, queue: [], groups: [], receivers: [], senders: [] }
      ])
      return O.voidOk
    }
    case "AddModuleGroup": {
      if (refused) return O.shutdownError("addModuleGroup")
      const mod = moduleOf(state, command.module)
      if (mod === undefined) return O.moduleNotFound(command.module)
      if (!mod.groups.includes(command.group)) mod.groups.push(command.group)
      const members = membersOf(state, command.group)
      if (members === undefined) state.groups.push([command.group, [command.module]])
      else if (!members.includes(command.module)) members.push(command.module)
      return O.voidOk
    }
    case "Cleanup": {
      if (moduleOf(state, command.module) === undefined) return O.moduleNotFound(command.module)
      const [groups, undelivered] = cleanupModule(state, command.module)
      return O.cleanupReport(groups, undelivered)
    }
    case "Send": {
      if (refused) return O.shutdownError("send")
      if (moduleOf(state, command.module) === undefined) return O.moduleNotFound(command.module)
      return offer(state, command.module, { op: command.op, entry: command.id, kind: "send" }) ? O.voidOk : undefined
    }
    case "Receive": {
      if (refused) return O.shutdownError("receive")
      if (moduleOf(state, command.module) === undefined) return O.moduleNotFound(command.module)
      take(state, command.module, command.op)
      return undefined
    }
    case "SendSync": {
      if (refused) return O.shutdownError("sendSync")
      if (moduleOf(state, command.module) === undefined) return O.moduleNotFound(command.module)
      if (callOf(state, command.id)) return O.duplicateRequestId(command.id)
      const timeoutMs = command.timeoutMs !== undefined && command.timeoutMs > 0 ? command.timeoutMs : DefaultTimeout
      const call = {
        kind: "sync" as const,
        op: command.op,
        id: command.id,
        module: command.module,
        timeoutMs,
        deadline: state.now + timeoutMs,
        phase: "enqueue" as const
      }
      state.calls.push({ ...call })
      const accepted = offer(state, command.module, { op: command.op, entry: `${command.id}!`, kind: "sync" })
      const registered = callOf(state, command.id)
      if (accepted && registered?.kind === "sync") registered.phase = "response"
      return undefined
    }
    case "SendResp":
      return O.bool(!refused && respond(state, command.id, command.parentId, command.from))
    case "SendToGroup": {
      if (refused) return O.shutdownError("sendToGroup")
      const members = membersOf(state, command.group)
      if (members === undefined) return O.groupNotFound(command.group)
      const send = { op: command.op, members: [...members], waiting: [] as Array<string>, gone: [] as Array<string> }
      for (const member of members) {
        if (!offer(state, member, { op: command.op, entry: command.id, kind: "copy" })) send.waiting.push(member)
      }
      if (send.waiting.length > 0) {
        state.groupSends.push(send)
        return undefined
      }
      return O.groupSendResult(send.members, [])
    }
    case "SendToGroupSync": {
      if (refused) return O.shutdownError("sendToGroupSync")
      const members = membersOf(state, command.group)
      if (members === undefined) return O.groupNotFound(command.group)
      if (callOf(state, command.id)) return O.duplicateRequestId(command.id)
      const timeoutMs = command.timeoutMs !== undefined && command.timeoutMs > 0 ? command.timeoutMs : DefaultTimeout
      const call = openGroupCall(command.op, command.id, command.group, members, state.now + timeoutMs)
      state.calls.push(call)
      for (const member of call.members)
        offer(state, member, { op: command.op, entry: `${command.id}!`, kind: "groupCopy" })
      return undefined
    }
    case "Advance": {
      // `expire` moves `now` to each deadline it passes; the advance ends at the old now + ms.
      const target = state.now + command.ms
      expire(state, target)
      state.now = target
      return undefined
    }
    case "Interrupt": {
      // An operation that waits nowhere has ended: interrupting it changes nothing.
      const target = command.target
      const waiting =
        state.modules.some(([, m]) => m.receivers.includes(target) || m.senders.some((o) => o.op === target)) ||
        state.calls.some((c) => c.op === target) ||
        state.groupSends.some((g) => g.op === target)
      if (!waiting) return undefined
      for (const [, mod] of state.modules) mod.receivers = mod.receivers.filter((r) => r !== command.target)
      withdrawOffers(state, command.target)
      state.calls = state.calls.filter((c) => c.op !== command.target)
      state.groupSends = state.groupSends.filter((g) => g.op !== command.target)
      complete(state, command.target, O.interrupted)
      return undefined
    }
    case "Reconnect":
    case "Crash":
    case "CloseClient":
    case "Stall":
    case "Resume":
    case "ReadSize":
      return undefined
    case "Shutdown": {
      if (state.shutdownReport !== undefined) return state.shutdownReport
      // R-GLOBAL-3: calls are cancelled before the modules are cleaned up.
      const cancelled = state.calls.length
      for (const call of [...state.calls])
        endCall(state, call, O.shutdownError(call.kind === "sync" ? "sendSync" : "sendToGroupSync"))
      const cleanups: Array<[string, number]> = []
      for (const [name] of [...state.modules]) cleanups.push([name, cleanupModule(state, name)[1].length])
      state.shutdown = true
      state.shutdownReport = O.shutdownReport(cleanups, cancelled)
      return state.shutdownReport
    }
  }
}

/** Applies `command` to `state` itself, the one state the rules allow after it. */
export const applyInPlace = (state: State, command: Command): void => {
  const outcome = applyCommand(state, command)
  if (outcome !== undefined && "op" in command) complete(state, command.op, outcome)
}

/** The states the rules allow after `command` (here always one). The input state is not changed. */
export const step = (state: State, command: Command): Array<State> => {
  const next = cloneState(state)
  applyInPlace(next, command)
  return [next]
}
