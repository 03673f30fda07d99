/**
 * R-SOCK-11's memory bound on the sync requests a remote module has written, as a property: a module
 * behind a connection keeps each request it wrote until the peer answers it, so that a disconnection
 * fails the calls still waiting at once; the requests whose calls ended otherwise (deadline,
 * interruption) are forgotten, so that what it keeps is at most max(1024, twice the most calls that
 * ever waited at once), however many requests it writes. A generated script writes requests in bursts
 * (thousands in a run), answers some, ends the calls of others, and closes the endpoint.
 *
 * The connection's own record of the requests written over it (which module each went to, for the
 * attribution of answers, R-SOCK-9) is held to the same bound, group calls' copies to several
 * modules included, whether answers come with a responder or without.
 *
 * The oracle is the set of calls that still wait, kept by the test, and the rule's bound.
 */
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { RemoteEndpoint } from "../../src/contexts/socket/RemoteEndpoint.ts"
import { ResponseAttribution } from "../../src/contexts/socket/ResponseAttribution.ts"
import type { SocketState } from "../../src/contexts/socket/SocketState.ts"
import * as Message from "../../src/model/Message.ts"
import { fcParams } from "../support/fc.ts"

type Step =
  | { readonly _tag: "write"; readonly count: number; readonly timedOut: boolean }
  | { readonly _tag: "answer"; readonly pick: number }
  | { readonly _tag: "end"; readonly fraction: number }

const arbStep: fc.Arbitrary<Step> = fc.oneof(
  // Calls that time out soon after their request is written are the common case the bound is for.
  fc
    .record({ count: fc.integer({ min: 1, max: 700 }), timedOut: fc.boolean() })
    .map(({ count, timedOut }) => ({ _tag: "write" as const, count, timedOut })),
  fc.nat().map((pick) => ({ _tag: "answer" as const, pick })),
  fc.double({ min: 0, max: 1, noNaN: true }).map((fraction) => ({ _tag: "end" as const, fraction }))
)

const request = (id: string) =>
  Message.make({ header: { id, sync: true }, route: { source: "caller", destination: "remote" } })

/** One of the calls that wait, picked by `pick`; undefined when none waits. */
const pickWaiting = (waiting: ReadonlySet<string>, pick: number): string | undefined => {
  const ids = [...waiting]
  return ids[pick % Math.max(1, ids.length)]
}

/** Deadlines or interruptions: that fraction of the calls that wait, the oldest first, stop waiting unanswered. */
const endOldest = (waiting: Set<string>, fraction: number): void => {
  const ending = Math.floor(waiting.size * fraction)
  for (const id of [...waiting].slice(0, ending)) waiting.delete(id)
}

describe("R-SOCK-11 the sync requests a remote module remembers", () => {
  it("R-SOCK-11 R-CLEAN-5 a remote module keeps every written request whose call waits, and at most max(1024, twice the most calls that waited at once)", () =>
    fc.assert(
      fc.property(fc.array(arbStep, { minLength: 1, maxLength: 24 }), (steps) => {
        // Calls that wait, by request id, in the order their requests were written.
        const waiting = new Set<string>()
        let written = 0
        let mostWaiting = 0
        const endpoint = new RemoteEndpoint(
          "remote",
          1,
          1 << 20,
          (id) => waiting.has(id),
          () => {}
        )
        for (const step of steps) {
          switch (step._tag) {
            case "write":
              for (let i = 0; i < step.count; i++) {
                const id = `r${++written}`
                waiting.add(id)
                expect(endpoint.offerNow(request(id))).toBe(true)
                expect(endpoint.takeOutgoing()?.message.header.id).toBe(id)
                mostWaiting = Math.max(mostWaiting, waiting.size)
                expect(endpoint.inflight.size).toBeLessThanOrEqual(Math.max(1024, 2 * mostWaiting))
                if (step.timedOut) waiting.delete(id)
              }
              break
            case "answer": {
              const id = pickWaiting(waiting, step.pick)
              if (id === undefined) break
              expect(endpoint.answered(id), "an answer to a request in flight").toBe(true)
              waiting.delete(id)
              break
            }
            case "end": {
              endOldest(waiting, step.fraction)
              break
            }
          }
        }
        // A disconnection hands back exactly the written requests whose calls still wait.
        const dropped = endpoint.close().map((m) => m.header.id)
        expect(new Set(dropped)).toEqual(waiting)
        expect(dropped.length).toBe(waiting.size)
      }),
      fcParams(150)
    ))

  it("R-SOCK-11 R-SOCK-9 a connection remembers the requests written over it, group copies included, at most max(1024, twice the most calls that waited at once), however they end", () =>
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            {
              weight: 3,
              arbitrary: fc
                .record({
                  // Past 1024 calls waiting at once, then many more that end: the bound moves with the most waiting.
                  count: fc.integer({ min: 1, max: 1500 }),
                  timedOut: fc.boolean(),
                  copies: fc.integer({ min: 1, max: 3 })
                })
                .map((write) => ({ _tag: "write" as const, ...write }))
            },
            {
              weight: 1,
              arbitrary: fc
                .record({ pick: fc.nat(), named: fc.boolean() })
                .map((answer) => ({ _tag: "answer" as const, ...answer }))
            },
            {
              weight: 1,
              arbitrary: fc
                .double({ min: 0, max: 1, noNaN: true })
                .map((fraction) => ({ _tag: "end" as const, fraction }))
            }
          ),
          { minLength: 1, maxLength: 40 }
        ),
        (steps) => {
          const waiting = new Set<string>()
          let written = 0
          let mostWaiting = 0
          const modules = ["m0", "m1", "m2"]
          const endpoints = new Map(
            modules.map((module) => [
              module,
              new RemoteEndpoint(
                module,
                1,
                1 << 20,
                (id) => waiting.has(id),
                () => {}
              )
            ])
          )
          // The global context as the connection sees it: an answer ends its call.
          const state = {
            isPending: (id: string) => waiting.has(id),
            beehive: {
              sendResp: (response: Message.Message) => Effect.sync(() => waiting.delete(response.header.parentId))
            },
            report: () => Effect.void
          } as unknown as SocketState
          const attribution = new ResponseAttribution(state, "peer", endpoints)
          for (const step of steps) {
            switch (step._tag) {
              case "write":
                for (let i = 0; i < step.count; i++) {
                  const id = `r${++written}`
                  const message = request(id)
                  waiting.add(id)
                  for (const module of modules.slice(0, step.copies)) {
                    attribution.requestWritten(message, endpoints.get(module) as RemoteEndpoint)
                  }
                  mostWaiting = Math.max(mostWaiting, waiting.size)
                  const bound = Math.max(1024, 2 * mostWaiting)
                  // Checked at every write (up to 60,000 a run): `expect` only when it is about to fail.
                  if (attribution.rememberedRequests > bound)
                    expect(attribution.rememberedRequests).toBeLessThanOrEqual(bound)
                  if (step.timedOut) waiting.delete(id)
                }
                break
              case "answer": {
                const id = pickWaiting(waiting, step.pick)
                if (id === undefined) break
                const response = Message.make({
                  header: { id: `a-${id}`, parentId: id },
                  route: { operation: "response" }
                })
                Effect.runSync(attribution.claim(response, step.named ? "m0" : undefined))
                expect(waiting.has(id), "the answer ended its call").toBe(false)
                break
              }
              case "end": {
                endOldest(waiting, step.fraction)
                break
              }
            }
          }
          expect(attribution.rememberedRequests).toBeLessThanOrEqual(Math.max(1024, 2 * mostWaiting))
        }
      ),
      fcParams(150)
    ))
})
