/**
 * What the durable mailbox tests (R-NATS-12) share: serving processes in scopes of their own, senders'
 * bursts, and a plain NATS client of the server.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { Effect, Exit, Fiber, Scope } from "effect"
import fc from "fast-check"
import { msg } from "../support/messages.ts"
import { type Proc, procWith } from "./support.ts"

/** Short, so that a killed process's messages come back soon (R-NATS-12); twice the heartbeat at least. */
export const AckWaitMs = 1000

/**
 * Long, for properties where no process is killed: a redelivery then means a message was lost or
 * held, and the property fails waiting for it, instead of passing or failing with the machine's load
 * (a loaded 2-core machine can stall a process past a one-second ack wait, which R-NATS-12 allows).
 */
export const SteadyAckWaitMs = 60_000

/** A plain NATS client of the server at `url` (no beehive), closed with the scope. */
export const rawClient = (url: string): Effect.Effect<NatsConnection, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => connect({ servers: url })),
    (nc) => Effect.promise(() => nc.close())
  )

/** Runs `body` in a scope of its own, as a promise for fast-check. */
export const run = <A>(body: Effect.Effect<A, unknown, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(body) as Effect.Effect<A, unknown, never>)

/** How a serving process receives: its mailbox's capacity here, and a pause after each message. */
export interface Receiving {
  readonly maxInbound: number
  readonly delayMs: number
  /** The process's `durableAckWaitMs`; `AckWaitMs` unless given. */
  readonly ackWaitMs?: number
}

/** A serving process, and the fiber receiving its module's messages. */
export interface ServingProcess {
  readonly scope: Scope.Closeable
  readonly receiver: Fiber.Fiber<unknown, unknown>
}

/** A serving process of module `module` on `url`, in a scope of its own, receiving into `received` (ids). */
export const startServing = (url: string, prefix: string, module: string, received: Array<string>, how: Receiving) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const P = yield* procWith(url, {
      prefix,
      durable: [module],
      durableAckWaitMs: how.ackWaitMs ?? AckWaitMs,
      maxInbound: how.maxInbound
    }).pipe(Scope.provide(scope))
    yield* P.nats.serve(module)
    const receiver = yield* Effect.forkIn(
      Effect.forever(
        Effect.gen(function* () {
          received.push((yield* P.beehive.receive(module)).header.id)
          if (how.delayMs > 0) yield* Effect.sleep(how.delayMs)
        })
      ),
      scope
    )
    return { scope, receiver } satisfies ServingProcess
  })

/** Stops a serving process: its module stops receiving first, with what it fetched still in its mailbox. */
export const stopServing = (serving: ServingProcess) =>
  Effect.andThen(Fiber.interrupt(serving.receiver), Scope.close(serving.scope, Exit.void))

/**
 * One round of the restart property: the two senders send so many messages each, then after a pause
 * the serving process is stopped, and (`next`) started again at once ("restart") or at the next round ("stop").
 */
export interface Round {
  readonly counts: readonly [number, number]
  readonly afterMs: number
  readonly next: "restart" | "stop"
}

/** Both senders send their round's count at once (their messages interleave in the stream), named s<b>-<n>. */
export const sendBursts = (
  senders: ReadonlyArray<Proc>,
  sent: Array<Array<string>>,
  counts: Round["counts"],
  module: string
) =>
  Effect.forEach(
    [0, 1] as const,
    (b) =>
      Effect.gen(function* () {
        for (let i = 0; i < counts[b]; i++) {
          const id = `s${b}-${sent[b]?.length}`
          sent[b]?.push(id)
          yield* (senders[b] as Proc).beehive.send(module, msg(id))
        }
      }),
    { concurrency: "unbounded" }
  )

/** A round of the restart property. */
export const arbRound: fc.Arbitrary<Round> = fc.record({
  counts: fc.tuple(fc.nat(30), fc.nat(30)),
  afterMs: fc.nat(60),
  next: fc.constantFrom("restart" as const, "stop" as const)
})
