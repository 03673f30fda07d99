/** NATS contexts ("processes") for the tests, on a nats-server started by scripts/natsServer.ts. */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { afterAll, beforeAll } from "vitest"
import { freePort, type NatsServer, startNatsServer, startNatsServerOn } from "../../scripts/natsServer.ts"
import { makeHost } from "../../src/contexts/Beehive.ts"
import type { BeehiveService } from "../../src/contexts/BeehiveService.ts"
import { ContextHost } from "../../src/contexts/ContextHost.ts"
import { NatsContext, type NatsContextService } from "../../src/contexts/nats/NatsContext.ts"
import type { NatsContextOptions, NatsEvent } from "../../src/contexts/nats/NatsOptions.ts"
import { waitForEffect } from "../socket/support.ts"

export interface Proc {
  readonly beehive: BeehiveService
  readonly nats: NatsContextService
  readonly events: Array<NatsEvent>
}

/** Short, so that a silent process is found out in well under a second (R-NATS-4). */
export const HeartbeatMs = 150

/** A global context with a NATS context on `url`, whose events are collected in `events`. */
export const proc = (
  url: string | ReadonlyArray<string>,
  prefix = "t",
  maxInbound?: number,
  reconnect = false,
  sendWindow?: number
): Effect.Effect<Proc, unknown, Scope.Scope> =>
  procWith(url, { prefix, maxInbound, sendWindow, maxReconnectAttempts: reconnect ? -1 : 0 })

/**
 * A process as `proc` makes it, with more options (`durable` and the rest, R-NATS-12): heartbeats of
 * `HeartbeatMs`, no reconnection, events collected.
 */
export const procWith = (
  url: string | ReadonlyArray<string>,
  options: Omit<NatsContextOptions, "servers" | "onEvent">
): Effect.Effect<Proc, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const host = yield* makeHost()
    const events: Array<NatsEvent> = []
    // Built as an application builds it, from the context's layer (over the host's ContextHost).
    const layer = NatsContext.layer({
      servers: url,
      prefix: "t",
      heartbeatMs: HeartbeatMs,
      missedHeartbeats: 3,
      maxReconnectAttempts: 0,
      reconnectTimeWaitMs: 100,
      ...options,
      onEvent: (e) => events.push(e)
    })
    const nats = Context.get(yield* Layer.build(layer).pipe(Effect.provideService(ContextHost, host)), NatsContext)
    return { beehive: host.beehive, nats, events }
  })

/**
 * A nats-server with JetStream (`-js`), its store in a temporary directory removed with the scope
 * (R-NATS-12).
 */
export const startJetStreamServer: Effect.Effect<NatsServer, never, Scope.Scope> = Effect.gen(function* () {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "beehive-js-"))),
    (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
  )
  return yield* startNatsServerOn(undefined, ["-js", "-sd", dir])
})

/** Whether `module` is registered in `p`. */
export const hasModule = (p: Proc, module: string) =>
  Effect.map(p.beehive.snapshot, (s) => s.modules.some((m) => m.name === module))

/** Waits (up to 5 s) until `module` is registered in `p` (present) or not (absent). */
export const awaitModule = (p: Proc, module: string, present = true) =>
  waitForEffect(hasModule(p, module), (has) => has === present, `${module} to become ${present ? "present" : "absent"}`)

/** Waits (up to `timeoutMs`) until `condition` holds; fails naming `what` otherwise. */
export const waitUntil = (condition: () => boolean, what: string, timeoutMs = 5000) =>
  waitForEffect(Effect.sync(condition), (ok) => ok, what, timeoutMs)

/** A server of a cluster, which a test can stop (closing its scope) while the others go on. */
export interface ClusterNode {
  readonly server: NatsServer
  readonly scope: Scope.Closeable
}

/**
 * Three nats-servers routed into one cluster on loopback ports, each in a scope of its own (closed
 * with the test's scope at the latest).
 */
export const startCluster: Effect.Effect<readonly [ClusterNode, ClusterNode, ClusterNode], never, Scope.Scope> =
  Effect.gen(function* () {
    const ports = yield* Effect.promise(() => Promise.all([0, 1, 2, 3, 4, 5].map(() => freePort())))
    const routes = [3, 4, 5].map((i) => `nats://127.0.0.1:${ports[i]}`).join(",")
    const node = (i: number) =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
        const server = yield* startNatsServerOn(ports[i], [
          "--cluster_name",
          "bh",
          "--cluster",
          `nats://127.0.0.1:${ports[i + 3]}`,
          "--routes",
          routes
        ]).pipe(Scope.provide(scope))
        return { server, scope }
      })
    return [yield* node(0), yield* node(1), yield* node(2)] as const
  })

/** Two processes on one nats-server; `a1` served by A, `b1` by B, each visible on the other side. */
export const pair = Effect.gen(function* () {
  const server = yield* startNatsServer
  const A = yield* proc(server.url)
  const B = yield* proc(server.url)
  yield* A.beehive.addModule("a1")
  yield* B.beehive.addModule("b1")
  yield* A.nats.serve("a1")
  yield* B.nats.serve("b1")
  yield* awaitModule(B, "a1")
  yield* awaitModule(A, "b1")
  return { server, A, B }
})

/**
 * One nats-server for the tests of a file (`start`: plain by default, or `startJetStreamServer`),
 * started before them and stopped after; read its `url` inside a test.
 */
export const sharedServer = (
  start: Effect.Effect<NatsServer, never, Scope.Scope> = startNatsServer
): { readonly url: string } => {
  const scope = Effect.runSync(Scope.make())
  let server: NatsServer | undefined
  beforeAll(async () => {
    server = await Effect.runPromise(Scope.provide(start, scope))
  }, 30_000)
  afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))
  return {
    get url() {
      return (server as NatsServer).url
    }
  }
}
