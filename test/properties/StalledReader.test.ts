/**
 * The in-memory network's stalled reader (R-SOCK-25), the fault the proofs use for a peer that does
 * not read, as a property: a generated script writes, reads, stalls and unstalls one end, and closes
 * the writing end. While an end is stalled its reads hand out nothing, neither data nor the end of
 * the stream, whatever was written before or during the stall; once it reads again, a waiting read
 * gets everything that came meanwhile, and the bytes arrive once and in order; a closed end's read
 * fails at once, stalled or not.
 *
 * The oracle is a count of the bytes written and read and the byte pattern itself (as in
 * Transport.test.ts), never the pipe's code.
 */
import { Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type ConnectionEnd, MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import type { Connection } from "../../src/contexts/socket/Transport.ts"
import type { ConnectionClosed } from "../../src/model/SocketErrors.ts"
import { run } from "../socket/support.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"

/** Byte `offset` of the stream: any loss, duplication or reordering breaks the pattern. */
const patternByte = (offset: number) => (offset * 7 + (offset >>> 8) * 13) & 255

type Step =
  | { readonly _tag: "write"; readonly size: number }
  | { readonly _tag: "read" }
  | { readonly _tag: "stall" }
  | { readonly _tag: "unstall" }
  | { readonly _tag: "closeWriter" }

const arbStep: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 500 }).map((size) => ({ _tag: "write" as const, size })) },
  { weight: 3, arbitrary: fc.constant({ _tag: "read" as const }) },
  { weight: 2, arbitrary: fc.constant({ _tag: "stall" as const }) },
  { weight: 2, arbitrary: fc.constant({ _tag: "unstall" as const }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "closeWriter" as const }) }
)

/** Lets forked reads run as far as they can. */
const settle = Effect.gen(function* () {
  for (let turn = 0; turn < 10; turn++) yield* Effect.yieldNow
})

describe("R-SOCK-25 a stalled reader of the in-memory network", () => {
  it("R-SOCK-25 a stalled end's reads hand out neither data nor the end until it reads again, then everything that came, once and in order; a closed end's read fails at once", () =>
    fc.assert(
      fc.asyncProperty(
        fc.constantFrom<ConnectionEnd>("client", "server"),
        fc.array(arbStep, { minLength: 1, maxLength: 16 }),
        fc.boolean(),
        (stalledEnd, steps, closeReaderStalled) =>
          run(
            Effect.gen(function* () {
              const network = new MemoryNetwork()
              const listener = yield* network.transport.listen(unix("stalls"))
              const client = yield* network.transport.connect(listener.address)
              const server = yield* listener.accept
              const [reader, writer]: [Connection, Connection] =
                stalledEnd === "server" ? [server, client] : [client, server]
              let written = 0
              let received = 0
              let stalled = false
              let writerClosed = false
              let pending: Fiber.Fiber<ReadonlyArray<Uint8Array>, ConnectionClosed> | undefined
              /** A read in flight must have ended exactly when it may: data or the end came, and no stall holds it. */
              const checkPending = (after: string) => {
                if (pending === undefined) return
                const exit = pending.pollUnsafe()
                const may = !stalled && (written > received || writerClosed)
                expect(exit !== undefined, `read done after ${after}`).toBe(may)
                if (exit === undefined) return
                pending = undefined
                if (Exit.isFailure(exit)) {
                  expect(errorOf(exit)?._tag, after).toBe("ConnectionClosed")
                  expect({ writerClosed, unread: written - received }, after).toEqual({ writerClosed: true, unread: 0 })
                  return
                }
                // A read takes everything that came (reads are not cut here), in order.
                const bytes = Buffer.concat(exit.value)
                expect(bytes.length, after).toBe(written - received)
                for (let i = 0; i < bytes.length; i++) {
                  if (bytes[i] !== patternByte(received + i)) throw new Error(`byte ${received + i} out of order`)
                }
                received += bytes.length
              }
              for (const [i, step] of steps.entries()) {
                const after = `step ${i} (${step._tag})`
                if (step._tag === "write" && !writerClosed) {
                  const bytes = new Uint8Array(step.size)
                  for (let k = 0; k < step.size; k++) bytes[k] = patternByte(written + k)
                  // Far below the pipe's capacity: a write never waits here.
                  yield* writer.write(bytes)
                  written += step.size
                } else if (step._tag === "read" && pending === undefined) {
                  pending = yield* Effect.forkChild(reader.read)
                } else if (step._tag === "stall" || step._tag === "unstall") {
                  stalled = step._tag === "stall"
                  network.setStalled(stalledEnd, stalled)
                } else if (step._tag === "closeWriter" && !writerClosed) {
                  yield* writer.close
                  writerClosed = true
                }
                yield* settle
                checkPending(after)
              }
              // The reader closes its own end: a read fails at once, stalled or not.
              if (pending !== undefined) yield* Fiber.interrupt(pending)
              network.setStalled(stalledEnd, closeReaderStalled)
              yield* reader.close
              expect(errorOf(yield* Effect.exit(reader.read))?._tag).toBe("ConnectionClosed")
              network.setStalled(stalledEnd, false)
              yield* writer.close
              yield* listener.close
            })
          )
      ),
      fcParams(300)
    ))
})
