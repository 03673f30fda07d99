/**
 * Fuzzing of what a peer offers in a handshake and answers in its exchange (R-SOCK-20, R-SOCK-21):
 * receipts and heartbeat values of every shape a hostile or broken peer could send. The oracle is
 * SPEC.md's wording, restated here: a receipts offer is an object with a non-empty string
 * `incarnation`, or no offer; its `peer` is kept only when a string, its `read` only when a whole
 * number from 0 to 2^53 − 1; a heartbeat offer is a whole number above 0, or none (0). Nothing throws.
 *
 * `FUZZ_CASES` sets the cases per property (default 1500).
 */
import { Effect, Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  decodeExchange,
  makeHandshake,
  offeredHeartbeat,
  offeredReceipts
} from "../../src/contexts/socket/Handshake.ts"
import type { ReceiptOffer } from "../../src/contexts/socket/Receipts.ts"
import { fuzzCases, fuzzParams, fuzzTimeout } from "../support/fuzz.ts"
import { msg } from "../support/messages.ts"

const cases = fuzzCases(1500)
const timeout = fuzzTimeout(cases)

/** Values of every JSON type, with the edges of the rules among them. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom("", "0", "incarnation"),
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom(0, 1, -1, 0.5, 2 ** 53 - 1, 2 ** 53, Number.MAX_VALUE, -0),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 })
)

/** A receipts value: an object with some of the three fields (of any type), or any other value. */
const receiptsValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ incarnation: anyValue, peer: anyValue, read: anyValue }, { requiredKeys: [] }),
  fc.record({ incarnation: fc.string({ minLength: 1, maxLength: 8 }), peer: anyValue, read: anyValue }),
  anyValue,
  fc.array(anyValue, { maxLength: 3 })
)

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** R-SOCK-21's reading of a receipts value, written from SPEC.md. */
const expectedOffer = (value: unknown): ReceiptOffer | undefined => {
  if (!isPlainObject(value)) return undefined
  const { incarnation, peer, read } = value
  if (typeof incarnation !== "string" || incarnation.length === 0) return undefined
  const wholeFromZero = typeof read === "number" && Number.isInteger(read) && read >= 0 && read <= 2 ** 53 - 1
  return { incarnation, peer: typeof peer === "string" ? peer : undefined, read: wholeFromZero ? read : undefined }
}

/** R-SOCK-20's reading of a heartbeat value. */
const expectedHeartbeat = (value: unknown): number =>
  typeof value === "number" && Number.isInteger(value) && value > 0 ? value : 0

const handshakeWith = (content: unknown) =>
  msg("handshake", content, { route: { resource: "module", operation: "add" } })

describe("handshake offers from a hostile peer", () => {
  it(
    "R-SOCK-21 R-SOCK-20 a handshake's receipts and heartbeat are read as SPEC.md says, whatever their shape",
    () =>
      fc.assert(
        fc.property(
          fc.oneof(
            fc.record({ receipts: receiptsValue, heartbeat: anyValue }, { requiredKeys: [] }),
            anyValue,
            fc.constant("")
          ),
          (content) => {
            const handshake = handshakeWith(content)
            const fields = isPlainObject(content) ? content : {}
            expect(offeredReceipts(handshake)).toEqual(expectedOffer(fields.receipts))
            expect(offeredHeartbeat(handshake)).toBe(expectedHeartbeat(fields.heartbeat))
          }
        ),
        fuzzParams(1500)
      ),
    timeout
  )

  it(
    "R-SOCK-21 an exchange's receipts are read as SPEC.md says; any receipts value leaves the exchange valid",
    () =>
      fc.assert(
        fc.property(receiptsValue, fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }), (receipts, modules) => {
          const decoded = decodeExchange("peer", { modules, groups: null, receipts })
          expect(Result.isSuccess(decoded)).toBe(true)
          if (Result.isFailure(decoded)) return
          expect(decoded.success.modules).toEqual(modules)
          expect(decoded.success.receipts).toEqual(expectedOffer(receipts))
        }),
        fuzzParams(1500)
      ),
    timeout
  )

  it(
    "R-SOCK-21 R-SOCK-20 what a client offers is what the server reads back",
    () =>
      fc.assert(
        fc.property(
          fc.option(fc.integer({ min: -2, max: 60_000 }), { nil: undefined }),
          fc.option(
            fc.record({
              incarnation: fc.string({ minLength: 1, maxLength: 12 }),
              peer: fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
              read: fc.option(fc.nat(), { nil: undefined })
            }),
            { nil: undefined }
          ),
          (heartbeatMs, receipts) => {
            const handshake = Effect.runSync(makeHandshake("module", "unix", { heartbeatMs, receipts }))
            expect(offeredHeartbeat(handshake)).toBe(heartbeatMs !== undefined && heartbeatMs > 0 ? heartbeatMs : 0)
            const read = offeredReceipts(handshake)
            expect(read).toEqual(
              receipts === undefined
                ? undefined
                : { incarnation: receipts.incarnation, peer: receipts.peer, read: receipts.read }
            )
            // Go's handshake content is "" when nothing is offered.
            if (receipts === undefined && !(heartbeatMs !== undefined && heartbeatMs > 0))
              expect(handshake.content).toBe("")
          }
        ),
        fuzzParams(1500)
      ),
    timeout
  )
})
