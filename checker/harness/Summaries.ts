/**
 * The implementation's results in the model's canonical form (spec/model/Outcomes.ts), so that the
 * two can be compared as strings.
 */
import { Cause, Exit } from "effect"
import * as O from "../../spec/model/Outcomes.ts"
import type { State } from "../../spec/model/State.ts"
import type { BeehiveSnapshot } from "../../src/contexts/Beehive.ts"
import type { Message } from "../../src/model/Message.ts"
import type { CleanupReport, GroupSendResult, GroupSyncResult, ShutdownReport } from "../../src/model/Reports.ts"

export type OpKind =
  | "AddModule"
  | "AddModuleGroup"
  | "Cleanup"
  | "Send"
  | "Receive"
  | "SendSync"
  | "SendResp"
  | "SendToGroup"
  | "SendToGroupSync"
  | "Shutdown"

const entry = (m: Message) => `${m.header.id}${m.header.sync ? "!" : ""}`

const value = (kind: OpKind, v: unknown): string => {
  switch (kind) {
    case "Receive":
      return O.ok(O.message(entry(v as Message)))
    case "SendSync":
      return O.ok(O.message((v as Message).header.id))
    case "SendResp":
      return O.bool(v as boolean)
    case "Cleanup": {
      const r = v as CleanupReport
      return O.cleanupReport(r.groups, r.undelivered.map(entry))
    }
    case "SendToGroup": {
      const r = v as GroupSendResult
      return O.groupSendResult(r.delivered, r.gone)
    }
    case "SendToGroupSync": {
      const r = v as GroupSyncResult
      return O.groupSyncResult(
        [...r.responses].map(([m, resp]) => [m, resp.header.id] as const),
        r.anonymous.map((a) => a.header.id)
      )
    }
    case "Shutdown": {
      const r = v as ShutdownReport
      return O.shutdownReport(
        r.cleanups.map((c) => [c.module, c.undelivered.length] as const),
        r.cancelledCalls
      )
    }
    default:
      return O.voidOk
  }
}

const error = (e: Record<string, any>): string => {
  switch (e._tag) {
    case "ModuleNotFound":
      return O.moduleNotFound(e.module)
    case "ModuleAlreadyExists":
      return O.moduleAlreadyExists(e.module)
    case "ModuleClosed":
      return O.moduleClosed(e.module)
    case "GroupNotFound":
      return O.groupNotFound(e.group)
    case "SyncTimeout":
      return O.syncTimeout(e.msgId, e.phase, e.timeoutMs)
    case "RequestDropped":
      return O.requestDropped(e.msgId)
    case "DuplicateRequestId":
      return O.duplicateRequestId(e.msgId)
    case "GroupSyncError":
      return O.groupSyncError(e.reason, e.missing, e.responded, e.uninvited)
    case "BeehiveShutdown":
      return O.shutdownError(e.operation)
    default:
      return O.err(`Unexpected(${JSON.stringify(e)})`)
  }
}

/** An operation's exit in canonical form. */
export const summarizeExit = (kind: OpKind, exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return value(kind, exit.value)
  if (Cause.hasInterruptsOnly(exit.cause)) return O.interrupted
  const failure = Cause.findError(exit.cause)
  if (failure._tag === "Success") return error(failure.success as Record<string, any>)
  return O.err(`Defect(${String(Cause.squash(exit.cause))})`)
}

/** The observable state in canonical form: modules, groups, pending calls, shutdown. */
export const describeSnapshot = (s: BeehiveSnapshot): string =>
  [
    s.modules
      .map((m) => `${m.name}(q=${m.queued},r=${m.waitingReceivers},s=${m.waitingSenders},g=${O.list(m.groups)})`)
      .join(" "),
    [...s.groups].map(([g, members]) => `${g}=${O.list(members)}`).join(" "),
    `calls=${O.list(s.pendingCalls)}`,
    s.isShutdown ? "shutdown" : "running"
  ].join(" | ")

/** The model's observable state in the same form. */
export const describeModel = (state: State): string =>
  [
    state.modules
      .map(([n, m]) => `${n}(q=${m.queue.length},r=${m.receivers.length},s=${m.senders.length},g=${O.list(m.groups)})`)
      .join(" "),
    state.groups.map(([g, members]) => `${g}=${O.list(members)}`).join(" "),
    `calls=${O.list(state.calls.map((c) => c.id))}`,
    state.shutdown ? "shutdown" : "running"
  ].join(" | ")
