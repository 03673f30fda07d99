/**
 * The in-memory transport's test faults, which the socket properties (checker/scenarios/socketLedger.ts)
 * inject: reads cut to a size (split and coalesced), a dropped network, a reading end that stops
 * reading, and the report of each closed end.
 */
import { Effect, Exit, Fiber, type Scope } from "effect"
import { describe, expect, it } from "vitest"
import {
  type ConnectionEnd,
  MemoryNetwork,
  type MemoryNetworkOptions
} from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import type { Connection } from "../../src/contexts/socket/Transport.ts"

const bytes = (s: string) => new TextEncoder().encode(s)
const text = (chunks: ReadonlyArray<Uint8Array>) => chunks.map((c) => new TextDecoder().decode(c))

/** A connected pair of ends over a fresh network. */
const pair = (
  capacityBytes?: number,
  options?: MemoryNetworkOptions
): Effect.Effect<
  { readonly network: MemoryNetwork; readonly client: Connection; readonly server: Connection },
  unknown,
  Scope.Scope
> =>
  Effect.gen(function* () {
    const network = new MemoryNetwork(capacityBytes, options)
    const listener = yield* network.transport.listen(unix("/faults"))
    const client = yield* network.transport.connect(unix("/faults"))
    const server = yield* listener.accept
    return { network, client, server }
  })

/** Whether `effect`, forked, is still waiting once every other fiber has had its turns. */
const waits = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(effect)
    for (let i = 0; i < 20; i++) yield* Effect.yieldNow
    return { fiber, waiting: fiber.pollUnsafe() === undefined }
  })

const run = <A>(body: Effect.Effect<A, unknown, Scope.Scope>) => Effect.runPromise(Effect.scoped(body))

describe("in-memory transport faults", () => {
  it("R-SOCK-1 reads cut to a size split one write over several reads and join several writes into one", () =>
    run(
      Effect.gen(function* () {
        const { client, server } = yield* pair(undefined, { maxReadBytes: 4 })
        yield* client.write(bytes("abcdef"))
        yield* client.write(bytes("gh"))
        expect(text(yield* server.read)).toEqual(["abcd"])
        expect(text(yield* server.read)).toEqual(["efgh"])
        yield* client.write(bytes("ij"))
        yield* client.write(bytes("k"))
        expect(text(yield* server.read)).toEqual(["ijk"])
        // Without the option a read hands out the writes as written.
        const plain = yield* Effect.map(pair(), (p) => p)
        yield* plain.client.write(bytes("ab"))
        yield* plain.client.write(bytes("cd"))
        expect(text(yield* plain.server.read)).toEqual(["ab", "cd"])
      })
    ))

  it("R-SOCK-17 a read cut to a size frees room for a waiting writer only once the pipe is below its capacity", () =>
    run(
      Effect.gen(function* () {
        const { client, server } = yield* pair(6, { maxReadBytes: 2 })
        const writer = yield* waits(client.write(bytes("abcdefgh")))
        expect(writer.waiting).toBe(true)
        expect(text(yield* server.read)).toEqual(["ab"])
        for (let i = 0; i < 20; i++) yield* Effect.yieldNow
        expect(writer.fiber.pollUnsafe()).toBeUndefined()
        expect(text(yield* server.read)).toEqual(["cd"])
        expect(yield* Fiber.await(writer.fiber)).toEqual(Exit.void)
      })
    ))

  it("R-SOCK-11 a dropped network loses what is in flight and fails reads and writes at both ends", () =>
    run(
      Effect.gen(function* () {
        const { network, client, server } = yield* pair()
        yield* client.write(bytes("lost"))
        const reader = yield* waits(client.read)
        network.drop()
        expect(Exit.isFailure(yield* Fiber.await(reader.fiber))).toBe(true)
        expect(Exit.isFailure(yield* Effect.exit(server.read))).toBe(true)
        expect(Exit.isFailure(yield* Effect.exit(server.write(bytes("x"))))).toBe(true)
        expect(Exit.isFailure(yield* Effect.exit(client.write(bytes("x"))))).toBe(true)
      })
    ))

  it("R-SOCK-17 an end that stops reading sees neither data nor the end; writers fill the pipe and wait; reading again gets both", () =>
    run(
      Effect.gen(function* () {
        const { network, client, server } = yield* pair(4)
        network.setStalled("server", true)
        const reader = yield* waits(server.read)
        expect(reader.waiting).toBe(true)
        yield* client.write(bytes("ab"))
        const writer = yield* waits(client.write(bytes("cd")))
        expect(writer.waiting).toBe(true)
        expect(reader.fiber.pollUnsafe()).toBeUndefined()
        // The other direction still flows.
        yield* server.write(bytes("up"))
        expect(text(yield* client.read)).toEqual(["up"])
        network.setStalled("server", false)
        expect(text(yield* Fiber.join(reader.fiber))).toEqual(["ab", "cd"])
        expect(yield* Fiber.await(writer.fiber)).toEqual(Exit.void)
        // Stalled again, the peer's close is not seen until reading resumes; a close here still fails at once.
        network.setStalled("server", true)
        yield* client.close
        const ending = yield* waits(server.read)
        expect(ending.waiting).toBe(true)
        network.setStalled("server", false)
        expect(Exit.isFailure(yield* Fiber.await(ending.fiber))).toBe(true)
        const other = yield* pair()
        other.network.setStalled("client", true)
        yield* other.client.close
        expect(Exit.isFailure(yield* Effect.exit(other.client.read))).toBe(true)
      })
    ))

  it("R-SOCK-11 each closed end is reported once, and a connection counts as open until both ends closed", () =>
    run(
      Effect.gen(function* () {
        const closed: Array<[number, ConnectionEnd]> = []
        const { network, client, server } = yield* pair(undefined, { onClose: (n, end) => closed.push([n, end]) })
        expect(network.openConnections).toBe(1)
        yield* client.close
        yield* client.close
        expect(closed).toEqual([[1, "client"]])
        expect(network.openConnections).toBe(1)
        yield* server.close
        expect(closed).toEqual([
          [1, "client"],
          [1, "server"]
        ])
        expect(network.openConnections).toBe(0)
      })
    ))
})
