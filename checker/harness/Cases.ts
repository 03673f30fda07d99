/**
 * The cases of the rules a state-machine run reached, counted from the model's state before each
 * step and the step's commands: issue 9 asks the generators to reach every one of them, and a count
 * of each is what shows they do (the suite keeps floors on them). Counting reads the model only; the
 * implementation is what the run checks, not what it measures.
 */
import * as O from "../../spec/model/Outcomes.ts"
import { type GroupCall, membersOf, type State } from "../../spec/model/State.ts"
import type { Command } from "../../spec/model/Step.ts"

/** The cases counted, each a situation some SPEC rule decides. */
export type CaseName =
  /** A call whose request id is a pending call's (R-SYNC-7: `DuplicateRequestId`). */
  | "duplicateId"
  /** A call whose request id an ended call used (free again). */
  | "reusedId"
  /** A one-way message whose id is a pending call's (R-CLEAN-5, R-CLEAN-7: only the request counts). */
  | "sendWithCallId"
  /** A group send or group call whose source is a member of the group (R-GROUP-2). */
  | "sourceInOwnGroup"
  /** An interruption of a `receive` still waiting or taking (R-RECV-4). */
  | "receiverInterrupted"
  /** An answer to a group call from a member that is gone (R-GSYNC-5, R-GSYNC-6). */
  | "goneMemberAnswers"
  /** The same, from a member that received the call's copy before it went. */
  | "goneAfterReceiving"
  /** An answer to a group call from a module that is not a member (R-GSYNC-6: uninvited). */
  | "nonMemberAnswers"
  /** An answer to a pending call that names no module, or a module that does not exist. */
  | "unknownSenderAnswers"
  /** An answer that lands at its call's deadline instant (R-SYNC-5, R-GSYNC-4). */
  | "answerAtDeadline"
  /** A call with no timeout (the default, R-SYNC-1). */
  | "defaultTimeout"
  /** A call with a timeout of 0 or less (the default too, R-SYNC-1). */
  | "zeroOrNegativeTimeout"

/** Counts of each case over some runs. */
export type CaseCounts = Partial<Record<CaseName, number>>

const add = (counts: CaseCounts, name: CaseName) => {
  counts[name] = (counts[name] ?? 0) + 1
}

// Whether `member` took the copy of group call `call` with a receive that ended before this step.
const received = (
  call: GroupCall,
  member: string,
  earlier: ReadonlyArray<Command>,
  settled: Readonly<Record<string, string>>
): boolean => {
  const copy = O.ok(O.message(`${call.id}!`))
  return earlier.some((c) => c._tag === "Receive" && c.module === member && settled[c.op] === copy)
}

/**
 * Adds to `counts` the cases the commands of one step reach, from `model`, the state before the step
 * (`early`: the step's clock advance runs before its operations), the commands of earlier steps and
 * their settled outcomes.
 */
export const countCases = (
  counts: CaseCounts,
  model: State,
  commands: ReadonlyArray<Command>,
  early: boolean,
  earlier: ReadonlyArray<Command>,
  settled: Readonly<Record<string, string>>
): void => {
  const advanced = commands.reduce((ms, c) => (c._tag === "Advance" ? ms + c.ms : ms), 0)
  const now = early ? model.now + advanced : model.now
  const callIds = new Set(earlier.flatMap((c) => (c._tag === "SendSync" || c._tag === "SendToGroupSync" ? [c.id] : [])))
  for (const c of commands) {
    switch (c._tag) {
      case "Send":
        if (model.calls.some((call) => call.id === c.id)) add(counts, "sendWithCallId")
        break
      case "SendSync":
      case "SendToGroupSync": {
        if (model.calls.some((call) => call.id === c.id)) add(counts, "duplicateId")
        else if (callIds.has(c.id)) add(counts, "reusedId")
        if (c.timeoutMs === undefined) add(counts, "defaultTimeout")
        else if (c.timeoutMs <= 0) add(counts, "zeroOrNegativeTimeout")
        if (
          c._tag === "SendToGroupSync" &&
          c.source !== undefined &&
          (membersOf(model, c.group) ?? []).includes(c.source)
        )
          add(counts, "sourceInOwnGroup")
        break
      }
      case "SendToGroup":
        if (c.source !== undefined && (membersOf(model, c.group) ?? []).includes(c.source))
          add(counts, "sourceInOwnGroup")
        break
      case "Interrupt": {
        const target = earlier.find((e) => "op" in e && e.op === c.target)
        if (target?._tag === "Receive" && settled[c.target] === undefined) add(counts, "receiverInterrupted")
        break
      }
      case "SendResp": {
        const call = model.calls.find((pending) => pending.id === c.parentId)
        if (call === undefined) break
        if (call.deadline === now) add(counts, "answerAtDeadline")
        const from = c.from
        const known =
          from !== undefined &&
          (model.modules.some(([name]) => name === from) || (call.kind === "group" && call.members.includes(from)))
        if (!known) add(counts, "unknownSenderAnswers")
        if (call.kind !== "group" || c.from === undefined) break
        if (!call.members.includes(c.from)) add(counts, "nonMemberAnswers")
        else if (call.history.some((e) => e.kind === "gone" && e.member === c.from)) {
          add(counts, "goneMemberAnswers")
          if (received(call, c.from, earlier, settled)) add(counts, "goneAfterReceiving")
        }
        break
      }
      default:
        break
    }
  }
}
