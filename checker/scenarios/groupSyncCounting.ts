/**
 * Group-sync response counting and uninvited responses (R-GSYNC-2, R-GSYNC-3, R-GSYNC-5, R-GSYNC-6,
 * R-RESP-1): members answer zero, one or two times, a stranger and an unattributed responder may
 * answer, a member may be cleaned up. Every response's fate and the call's result must be exactly
 * what the reference model's collector decides for the same events in the same order.
 */
import { Effect, Exit, Fiber } from "effect"
import { expire, memberGone, respond } from "../../spec/model/Calls.ts"
import { type GroupCall, initialState } from "../../spec/model/State.ts"
import * as Message from "../../src/model/Message.ts"
import type { Scenario } from "../../src/testing/Scenario.ts"
import { summarizeExit } from "../harness/Summaries.ts"

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

type Event =
  | { readonly kind: "resp"; readonly id: string; readonly from: string | undefined; accepted: boolean | undefined }
  | { readonly kind: "gone"; readonly member: string }
  | { readonly kind: "ended"; readonly outcome: string; readonly at: number }

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
      const answer = (fiber: string, id: string, from: string | undefined) =>
        Effect.gen(function* () {
          // Logged before the call: a response that completes the call resumes the caller at once.
          const event: Event = { kind: "resp", id, from, accepted: undefined }
          log.push(event)
          event.accepted = yield* ctx.op(
            fiber,
            `sendResp(#${id}${from ? ` from ${from}` : ""})`,
            b.sendResp(Message.make({ header: { id, parentId: "req", timestamp: 1 } }), from)
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
              log.push({ kind: "gone", member: leaver })
              yield* ctx.op("janitor", `cleanup(${leaver})`, b.cleanup(leaver))
            })
          )
        )
      }
      const exit = yield* Effect.exit(
        ctx.op(
          "caller",
          `sendToGroupSync(g, #req, ${input.timeoutMs}ms)`,
          b.sendToGroupSync("g", Message.make({ header: { id: "req" } }), input.timeoutMs)
        )
      )
      log.push({ kind: "ended", outcome: summarizeExit("SendToGroupSync", exit), at: ctx.now() })
      yield* Fiber.joinAll(fibers)

      // The oracle: the model's collector, fed the same events in the same order.
      const state = initialState()
      const call: GroupCall = {
        kind: "group",
        op: "call",
        id: "req",
        group: "g",
        deadline: input.timeoutMs > 0 ? input.timeoutMs : 30_000,
        members,
        answered: [],
        anonymous: [],
        gone: [],
        uninvited: 0,
        pendingCopies: []
      }
      state.calls.push(call)
      let ended: string | undefined
      for (const event of log) {
        if (event.kind === "ended") {
          // A call still open in the model when the implementation's ended must have expired.
          if (state.outcomes.call === undefined) expire(state, event.at)
          ended = event.outcome
          continue
        }
        if (event.kind === "gone") {
          memberGone(state, event.member)
          continue
        }
        const expected = respond(state, event.id, "req", event.from)
        yield* ctx.check(
          expected === event.accepted,
          `sendResp(#${event.id}) returned ${event.accepted}, the model says ${expected}`
        )
      }
      yield* ctx.check(
        ended === state.outcomes.call,
        `the call ended with ${ended}, the model says ${state.outcomes.call}`
      )
      yield* ctx.quiesce
      yield* ctx.check(
        (yield* b.snapshot).pendingCalls.length === 0 && ctx.pendingTimers() === 0,
        "no collector and no timer remains (R-GSYNC-7)"
      )
    })
})
