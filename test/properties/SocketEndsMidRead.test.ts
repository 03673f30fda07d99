/**
 * A client process's socket context ends (its global context stays) at any of its fibers' steps while
 * the server sends to its module (R-SOCK-10, R-SOCK-21): every message the process receipted is its
 * module's (received in the end) or reported `Undeliverable` (the process is ending), once. What it
 * read is known from the wire (a tap on its connection), never from its own bookkeeping. The end's
 * place is swept as in the NATS properties: every fiber yields every few operations, and the end comes
 * after a number of yields of the test's own fiber.
 */
import { Effect, Exit, Fiber, References, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { makeHost } from "../../src/contexts/Beehive.ts"
import { ContextHost } from "../../src/contexts/ContextHost.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { makeSocketContext } from "../../src/contexts/socket/SocketContext.ts"
import type { SocketEvent } from "../../src/contexts/socket/SocketEvents.ts"
import { Transport } from "../../src/contexts/socket/Transport.ts"
import { makeSide, reportedIds, run, waitFor } from "../socket/support.ts"
import { highestReceipt, makeTap, numbersRead, tapped } from "../socket/wireTap.ts"
import { fcParams } from "../support/fc.ts"
import { arbOpsBeforeYield } from "../support/interruptedAfter.ts"
import { msg } from "../support/messages.ts"

const address = unix("/ends-mid-read/server.sock")

describe("R-SOCK-10 a socket context ends while it reads", () => {
  it(
    "R-SOCK-10 R-SOCK-21 property: a client process's socket context ends (its global context stays) at any step while the server sends to its module: every message it receipted is the module's or reported Undeliverable (the process is ending), once",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.record({
            sent: fc.integer({ min: 1, max: 8 }),
            capacity: fc.integer({ min: 1, max: 3 }),
            endAfter: fc.nat(40),
            opsBeforeYield: arbOpsBeforeYield,
            pipeCapacityBytes: fc.constantFrom(64, 1 << 16)
          }),
          (script) =>
            run(
              Effect.gen(function* () {
                const network = new MemoryNetwork(script.pipeCapacityBytes)
                const s = yield* makeSide(network.transport)
                yield* s.socket.serve({ address, accept: ["X"] })
                // The client process: its global context outlives its socket context.
                const events: Array<SocketEvent> = []
                const host = yield* Effect.orDie(makeHost())
                yield* host.beehive.addModule("X", { capacity: script.capacity })
                const socketScope = yield* Scope.make()
                const wire = makeTap()
                const socket = yield* makeSocketContext({ onEvent: (e) => events.push(e) }).pipe(
                  Effect.provideService(Transport, tapped(network.transport, wire)),
                  Effect.provideService(ContextHost, host),
                  Effect.orDie,
                  Scope.provide(socketScope)
                )
                const backoff = { initial: 60_000, max: 60_000, jitter: 0 }
                yield* (yield* socket.connect({ module: "X", address, backoff }).pipe(Scope.provide(socketScope)))
                  .connected
                const ids = Array.from({ length: script.sent }, (_, i) => `m${i}`)
                const sending = yield* Effect.forkChild(
                  Effect.forEach(ids, (id) => Effect.ignore(s.beehive.send("X", msg(id))), { discard: true })
                )
                for (let i = 0; i < script.endAfter; i++) yield* Effect.yieldNow
                yield* Scope.close(socketScope, Exit.void)
                yield* Fiber.await(sending)
                const received: Array<string> = []
                const drain = Effect.gen(function* () {
                  for (;;) {
                    const left = (yield* host.beehive.snapshot).modules.find((m) => m.name === "X")?.queued ?? 0
                    if (left === 0) return
                    received.push((yield* host.beehive.receive("X")).header.id)
                  }
                })
                yield* drain
                // What it receipted it handled (R-SOCK-21): read and not receipted may be lost with the end, in
                // doubt at the server.
                const numbers = numbersRead(wire)
                const read = [...numbers.keys()].filter((id) => (numbers.get(id) ?? Infinity) <= highestReceipt(wire))
                const undeliverable = () => reportedIds(events, "Undeliverable")
                yield* waitFor(
                  () => read.every((id) => received.includes(id) || undeliverable().includes(id)),
                  `every message receipted received or reported (receipted ${read.join(",")}; received ${received.join(",")}; reported ${undeliverable().join(",")})`,
                  1000
                )
                for (const id of read)
                  expect(
                    [...received, ...undeliverable()].filter((seen) => seen === id),
                    id
                  ).toHaveLength(1)
              }).pipe(Effect.provideService(References.MaxOpsBeforeYield, script.opsBeforeYield))
            )
        ),
        fcParams(200)
      ),
    120_000
  )
})
