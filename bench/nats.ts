/**
 * Benchmarks of the NATS context next to plain nats.js on the same server, in the same run. Run with
 * `npm run bench:nats` (a build, then `node dist/bench/nats.js`). It starts a `nats-server` on a free
 * loopback port (scripts/ensure-tools.sh installs it), and two "processes" in this one: two global
 * contexts with a connection each.
 *
 * - one-way: N `send`s to a module served by the other process, timed until its receiver has taken
 *   the N-th; next to it, N `publish`es of the same JSON from one plain connection to a subscription of
 *   another, timed until the subscription has counted N. Messages the serving side dropped (R-NATS-8)
 *   are counted and printed;
 * - sendSync: sequential round trips to a module that answers every request; next to it, sequential
 *   `nc.request`s to a plain responder.
 *
 * Each figure is the median of BENCH_RUNS (5) measured runs after one warm-up run. Only ratios within
 * one run count (the machine is shared). 2026-12-05, before issue 12's speed-up: send 0.12 of plain
 * publish (40.7 k/s), sendSync 0.45 of plain request (2.15 k/s); after: 0.13 (40.4 k/s) and 0.35
 * (2.47 k/s, plain request at 7.06 k/s in that run). The one-way path is CPU-bound in the one process
 * both ends share: message creation, Go JSON encoding, decoding and three fiber hops per message.
 */
import { connect } from "@nats-io/transport-node"
import { Effect } from "effect"
import { startNatsServer } from "../scripts/natsServer.ts"
import { makeHost } from "../src/contexts/Beehive.ts"
import { ContextHost } from "../src/contexts/ContextHost.ts"
import { makeNatsContext } from "../src/contexts/nats/NatsContext.ts"
import type { NatsEvent } from "../src/contexts/nats/NatsOptions.ts"
import * as Message from "../src/model/Message.ts"
import { encodeJsonResult } from "../src/model/MessageJson.ts"

const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const ONE_WAY = Number(process.env.BENCH_ONE_WAY ?? 100_000)
const ROUND_TRIPS = Number(process.env.BENCH_ROUND_TRIPS ?? 10_000)

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

const timed = <E>(effect: Effect.Effect<void, E>): Effect.Effect<number, E> =>
  Effect.gen(function* () {
    const start = performance.now()
    yield* effect
    return performance.now() - start
  })

const measure = <E>(label: string, count: number, run: Effect.Effect<void, E>) =>
  Effect.gen(function* () {
    yield* run
    const times: Array<number> = []
    for (let i = 0; i < RUNS; i++) times.push(yield* timed(run))
    const perSecond = Math.round(count / (median(times) / 1000))
    console.log(`${label.padEnd(44)} ${String(perSecond).padStart(9)} /s`)
    return perSecond
  })

const program = Effect.gen(function* () {
  const { url } = yield* startNatsServer

  const dropped: Array<NatsEvent> = []
  const hostA = yield* makeHost()
  const natsA = yield* makeNatsContext({
    servers: url,
    onEvent: (e) => {
      if (e._tag === "Undeliverable") dropped.push(e)
    }
  }).pipe(Effect.provideService(ContextHost, hostA))
  const hostB = yield* makeHost()
  const natsB = yield* makeNatsContext({ servers: url }).pipe(Effect.provideService(ContextHost, hostB))
  const A = hostA.beehive
  const B = hostB.beehive
  yield* A.addModule("sink")
  yield* A.addModule("echo")
  yield* natsA.serve("sink")
  yield* natsA.serve("echo")
  yield* natsB.awaitModule("sink", "10 seconds")
  yield* natsB.awaitModule("echo", "10 seconds")
  yield* Effect.forkScoped(
    Effect.forever(
      Effect.gen(function* () {
        const request = yield* A.receive("echo")
        yield* A.sendResp(yield* Message.newResponse(request, "pong"), "echo")
      })
    )
  )

  console.log(`NATS context vs plain nats.js, one nats-server on loopback; median of ${RUNS} runs`)
  let received = 0
  yield* Effect.forkScoped(
    Effect.forever(
      Effect.gen(function* () {
        yield* A.receive("sink")
        received++
      })
    )
  )
  const beehiveOneWay = yield* measure(
    `beehive send over NATS (${ONE_WAY} msgs)`,
    ONE_WAY,
    Effect.gen(function* () {
      const base = received
      const droppedBase = dropped.length
      for (let i = 0; i < ONE_WAY; i++) yield* B.send("sink", yield* Message.newMessage())
      // What the serving side dropped never comes (R-NATS-8): it counts as arrived, and is printed.
      while (received - base + (dropped.length - droppedBase) < ONE_WAY) yield* Effect.sleep(1)
    })
  )

  const pub = yield* Effect.promise(() => connect({ servers: url }))
  const sub = yield* Effect.promise(() => connect({ servers: url }))
  yield* Effect.addFinalizer(() => Effect.promise(() => Promise.all([pub.close(), sub.close()])))
  const json = encodeJsonResult(yield* Message.newMessage(), "sink")
  const payload = json._tag === "Success" ? json.success : ""
  let counted = 0
  let target = 0
  let reached: (() => void) | undefined
  sub.subscribe("plain.sink", {
    callback: () => {
      counted++
      if (counted === target) reached?.()
    }
  })
  sub.subscribe("plain.echo", {
    callback: (_error, msg) => {
      msg.respond("pong")
    }
  })
  yield* Effect.promise(() => sub.flush())
  const plainOneWay = yield* measure(
    `plain nats.js publish (${ONE_WAY} msgs)`,
    ONE_WAY,
    Effect.promise(
      () =>
        new Promise<void>((resolve) => {
          counted = 0
          target = ONE_WAY
          reached = resolve
          for (let i = 0; i < ONE_WAY; i++) pub.publish("plain.sink", payload)
        })
    )
  )

  const beehiveSync = yield* measure(
    `beehive sendSync over NATS (${ROUND_TRIPS} calls)`,
    ROUND_TRIPS,
    Effect.gen(function* () {
      for (let i = 0; i < ROUND_TRIPS; i++) yield* B.sendSync("echo", yield* Message.newMessage(), 5000)
    })
  )
  const plainSync = yield* measure(
    `plain nats.js request (${ROUND_TRIPS} calls)`,
    ROUND_TRIPS,
    Effect.promise(async () => {
      for (let i = 0; i < ROUND_TRIPS; i++) await pub.request("plain.echo", payload, { timeout: 5000 })
    })
  )
  console.log(
    `ratios: send ${(beehiveOneWay / plainOneWay).toFixed(2)} of plain publish, sendSync ${(beehiveSync / plainSync).toFixed(2)} of plain request; dropped by the serving side: ${dropped.length}`
  )
})

Effect.runPromise(Effect.scoped(program)).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
