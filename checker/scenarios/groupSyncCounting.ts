/**
 * Group-sync response counting and uninvited responses (R-GSYNC-2, R-GSYNC-3, R-GSYNC-5, R-GSYNC-6,
 * R-RESP-1): members answer zero, one or two times, a stranger and an unattributed responder may
 * answer, a member may be cleaned up. Every response's fate and the call's result must be exactly
 * what SPEC.md's rules say for the same events in the same order.
 *
 * The oracle is `expectedFates` below, written from SPEC.md alone: neither the collector nor the
 * reference model (spec/model) is consulted, so a reasoning error shared by the two cannot pass here
 * unnoticed.
 */
import { Effect, Exit, Fiber } from "effect"
import * as O from "../../spec/model/Outcomes.ts"
import * as Message from "../../src/model/Message.ts"
import { formatTimeout, type Scenario } from "../../src/testing/Scenario.ts"
import { summarizeExit } from "../harness/Summaries.ts"

/** A group of members with their answers, optional stray responders, an optional leaver. */
export interface GroupSyncCountingInput {
  /** How many times each member answers (its length is the group's size). */
  readonly answers: ReadonlyArray<number>
  readonly stranger: boolean
  readonly anonymous: boolean
  /** Index of a member cleaned up after `leaveAfter` yields, or -1. */
  readonly leaver: number
  readonly leaveAfter: number
  readonly timeoutMs: number
}

/** What happened, in the order it happened, each logged in the step of the operation itself. */
type Event =
  | { readonly kind: "start"; readonly members: ReadonlyArray<string>; readonly at: number }
  | {
      readonly kind: "resp"
      readonly id: string
      readonly from: string | undefined
      at: number
      accepted: boolean | undefined
    }
  | { readonly kind: "gone"; readonly member: string; readonly at: number }

/** What the rules say: each response's `sendResp` result, and the call's outcome and instant. */
interface Expected {
  readonly fates: ReadonlyMap<Event, boolean>
  readonly outcome: string
  readonly at: number
}

/**
 * R-GSYNC-1..6 and R-RESP-1 over a log, read straight from SPEC.md. The members are fixed at the
 * start. A member's first response counts, also after its cleanup; a second one, or a non-member's,
 * is uninvited. A member cleaned up before answering is gone. An unattributed response counts while
 * more members are awaited (neither answered nor gone) than unattributed responses already stand for.
 * The call decides the moment no awaited member is left without a stand-in: "Uninvited" if any
 * uninvited response came, else "MemberGone" if a member is gone, else success. Undecided at the
 * deadline, it times out; afterwards every response gets `false`.
 */
const expectedFates = (log: ReadonlyArray<Event>, deadline: number): Expected => {
  const fates = new Map<Event, boolean>()
  let members: ReadonlyArray<string> = []
  let started = false
  const answers: Array<[string, string]> = []
  const standIns: Array<string> = []
  const cleaned = new Set<string>()
  let uninvited = 0
  let decided: { outcome: string; at: number } | undefined
  const answered = (m: string) => answers.some(([a]) => a === m)
  const unanswered = () => members.filter((m) => !answered(m))
  const gone = () => members.filter((m) => cleaned.has(m) && !answered(m))
  const awaited = () => members.filter((m) => !answered(m) && !cleaned.has(m))
  const responded = () => answers.map(([m]) => m)
  const timeout = () => O.groupSyncError("Timeout", unanswered(), responded(), uninvited)
  for (const event of log) {
    if (event.kind === "start") {
      members = event.members
      started = true
      if (members.length === 0) decided = { outcome: O.groupNotFound("g"), at: event.at }
      continue
    }
    // Before the start there is no call yet; past the deadline it has timed out. At the deadline
    // instant either may come first (R-SYNC-4): a response's own result tells which; a cleanup there
    // is taken to come after (this scenario cleans up at 0 ms only).
    const late = event.at > deadline || (event.at === deadline && !(event.kind === "resp" && event.accepted))
    if (started && decided === undefined && late) decided = { outcome: timeout(), at: deadline }
    if (!started || decided !== undefined) {
      if (event.kind === "resp") fates.set(event, false)
      continue
    }
    if (event.kind === "gone") cleaned.add(event.member)
    else if (event.from !== undefined && members.includes(event.from) && !answered(event.from)) {
      answers.push([event.from, event.id])
      fates.set(event, true)
    } else if (event.from === undefined && awaited().length > standIns.length) {
      standIns.push(event.id)
      fates.set(event, true)
    } else {
      uninvited++
      fates.set(event, false)
    }
    if (awaited().length > standIns.length) continue
    const outcome =
      uninvited > 0
        ? O.groupSyncError("Uninvited", unanswered(), responded(), uninvited)
        : gone().length > 0
          ? O.groupSyncError("MemberGone", gone(), responded(), 0)
          : O.groupSyncResult(answers, standIns)
    decided = { outcome, at: event.at }
  }
  return { fates, ...(decided ?? { outcome: timeout(), at: deadline }) }
}

/** The scenario for one input; see the module documentation. */
export const groupSyncCounting = (input: GroupSyncCountingInput): Scenario => ({
  name: "groupsync-counting",
  run: (ctx) =>
    Effect.gen(function* () {
      const b = ctx.beehive
      const members = input.answers.map((_, i) => `member${i}`)
      for (const m of members) {
        yield* b.addModule(m)
        yield* b.addModuleGroup(m, "g")
      }
      const log: Array<Event> = []
      // Logged inside the operation, in its own step: whatever the operation wakes runs after.
      const logged = <A, E>(event: () => Event, effect: Effect.Effect<A, E>) =>
        Effect.suspend(() => {
          log.push(event())
          return effect
        })
      const answer = (fiber: string, id: string, from: string | undefined) =>
        Effect.gen(function* () {
          const event: Event & { kind: "resp" } = { kind: "resp", id, from, at: -1, accepted: undefined }
          const logEvent = () => {
            event.at = ctx.now()
            return event
          }
          event.accepted = yield* ctx.op(
            fiber,
            `sendResp(#${id}${from ? ` from ${from}` : ""})`,
            logged(logEvent, b.sendResp(Message.make({ header: { id, parentId: "req", timestamp: 1 } }), from))
          )
        })
      const fibers = []
      for (const [i, m] of members.entries()) {
        fibers.push(
          yield* ctx.spawn(
            m,
            Effect.gen(function* () {
              const copy = yield* Effect.exit(ctx.op(m, `receive(${m})`, b.receive(m)))
              if (Exit.isFailure(copy)) return
              for (let k = 0; k < (input.answers[i] as number); k++) {
                // The leaver pauses between its copy and its first answer, so that the janitor may
                // clean it up in between: a member gone before answering that answers after all.
                if (k === 0 && i === input.leaver) yield* Effect.yieldNow
                yield* answer(m, `${m}-r${k}`, m)
                yield* Effect.yieldNow
              }
            })
          )
        )
      }
      if (input.stranger) fibers.push(yield* ctx.spawn("stranger", answer("stranger", "stranger-r", "stranger")))
      if (input.anonymous) fibers.push(yield* ctx.spawn("anonymous", answer("anonymous", "anon-r", undefined)))
      const leaver = members[input.leaver]
      if (leaver !== undefined) {
        fibers.push(
          yield* ctx.spawn(
            "janitor",
            Effect.gen(function* () {
              for (let k = 0; k < input.leaveAfter; k++) yield* Effect.yieldNow
              yield* ctx.op(
                "janitor",
                `cleanup(${leaver})`,
                logged(() => ({ kind: "gone", member: leaver, at: ctx.now() }), b.cleanup(leaver))
              )
            })
          )
        )
      }
      // The call's members are the group's when it starts: every member not cleaned up yet.
      const atStart = (): Event => ({
        kind: "start",
        members: members.filter((m) => !log.some((e) => e.kind === "gone" && e.member === m)),
        at: ctx.now()
      })
      const exit = yield* Effect.exit(
        ctx.op(
          "caller",
          `sendToGroupSync(g, #req, ${formatTimeout(input.timeoutMs)})`,
          logged(atStart, b.sendToGroupSync("g", Message.make({ header: { id: "req" } }), input.timeoutMs))
        )
      )
      const ended = { outcome: summarizeExit("SendToGroupSync", exit), at: ctx.now() }
      yield* Fiber.joinAll(fibers)

      const expected = expectedFates(log, input.timeoutMs > 0 ? input.timeoutMs : 30_000)
      for (const event of log) {
        if (event.kind !== "resp") continue
        const fate = expected.fates.get(event)
        yield* ctx.check(
          fate === event.accepted,
          `sendResp(#${event.id}) returned ${event.accepted}, the rules say ${fate}`
        )
      }
      yield* ctx.check(
        ended.outcome === expected.outcome,
        `the call ended with ${ended.outcome}, the rules say ${expected.outcome}`
      )
      yield* ctx.check(
        ended.at === expected.at,
        `the call ended at ${ended.at} ms, the rules say at ${expected.at} ms (R-GSYNC-2, R-GSYNC-4: no polling, no early timeout)`
      )
      yield* ctx.quiesce
      yield* ctx.check(
        (yield* b.snapshot).pendingCalls.length === 0 && ctx.pendingTimers() === 0,
        "no collector and no timer remains (R-GSYNC-7)"
      )
    })
})
