/**
 * `receiveAll` on any context type (R-RECV-5): a batch is built from what the endpoint hands out, not
 * from what it counts as queued. An endpoint may count messages it cannot hand out yet (a served
 * durable NATS module counts its unpublished outbox), and more may come in while a batch is taken
 * (a waiting sender admitted as room frees up, R-SEND-2): either way a batch holds messages only,
 * oldest first, each once, at most `max` of them, and with no `max` all there is at once.
 */
import { Effect, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MailboxEndpoint } from "../../src/contexts/MailboxEndpoint.ts"
import type { EndpointOptions, ModuleContext } from "../../src/contexts/ModuleContext.ts"
import { isMessage } from "../../src/model/Arguments.ts"
import { makeBeehiveWith } from "../support/contexts.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"

/** A mailbox that also counts `elsewhere` messages it carries and cannot hand out. */
class Overcounting extends MailboxEndpoint {
  readonly elsewhere: number

  constructor(module: string, options: EndpointOptions, elsewhere: number) {
    super(module, options)
    this.elsewhere = elsewhere
  }

  override get queued(): number {
    return super.queued + this.elsewhere
  }
}

const overcounting = (elsewhere: number, opened: Array<Overcounting>): ModuleContext => ({
  type: "overcounting",
  open: (module, options) =>
    Effect.sync(() => {
      const endpoint = new Overcounting(module, options, elsewhere)
      opened.push(endpoint)
      return endpoint
    })
})

describe("R-RECV-5 batch sizes", () => {
  it("R-RECV-5 R-SEND-2 a batch holds only messages, oldest first, each once, at most max (with none, all there is at once), whatever its endpoint counts as queued beyond what it hands out, and with senders admitted while it is taken", () =>
    fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 60 }),
        fc.array(fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }), { minLength: 1, maxLength: 5 }),
        (elsewhere, capacity, count, maxes) =>
          Effect.runPromise(
            Effect.scoped(
              Effect.gen(function* () {
                const opened: Array<Overcounting> = []
                const beehive = yield* makeBeehiveWith([overcounting(elsewhere, opened)])
                yield* beehive.addModule("m", { contextType: "overcounting", capacity })
                const sent = Array.from({ length: count }, (_, i) => `${i}`)
                // A sender that fills the mailbox and waits for room, admitted as batches take.
                const sender = yield* Effect.forkChild(Effect.forEach(sent, (id) => beehive.send("m", msg(id))))
                const received: Array<string> = []
                for (let round = 0; received.length < count; round++) {
                  const max = maxes[round % maxes.length]
                  const batch = yield* beehive.receiveAll("m", max)
                  expect(batch.length).toBeGreaterThanOrEqual(1)
                  // Every message there at once, the admitted sender's included: none is left behind.
                  if (max === undefined) expect(opened[0]?.size).toBe(0)
                  else expect(batch.length).toBeLessThanOrEqual(max)
                  for (let i = 0; i < batch.length; i++) {
                    const message: unknown = batch[i]
                    expect(isMessage(message), `element ${i} of a batch of ${batch.length}`).toBe(true)
                    received.push((message as { header: { id: string } }).header.id)
                  }
                }
                yield* Fiber.join(sender)
                expect(received).toEqual(sent)
              })
            )
          )
      ),
      fcParams(200)
    ))
})
