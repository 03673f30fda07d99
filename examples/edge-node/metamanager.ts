/**
 * The metamanager of the edge-node demo, in a process of its own: it keeps the pods it is told about
 * and answers queries. It reaches edgecore either over edgecore's unix socket (as the client module
 * "metamanager") or through a NATS server (serving "metamanager" there). It ends on SIGTERM (edgecore
 * telling its child to go) or SIGINT.
 */
import { Effect, Exit, Layer, References } from "effect"
import { awaitSignal, Beehive, ContextHost, Message, NatsContext, SocketContext, unix } from "../../src/index.ts"
import { brief, say } from "./log.ts"

/** How metamanager reaches edgecore: edgecore's unix socket, or a NATS server both sides connect to. */
export type MetaLink =
  | { readonly _tag: "socket"; readonly path: string }
  | { readonly _tag: "nats"; readonly url: string }

/** The subject prefix of the demo on NATS, so that it keeps to itself on a shared server. */
export const NatsPrefix = "edge-node"

/** metamanager's receive loop, until its mailbox is closed. */
const handle = Effect.gen(function* () {
  const beehive = yield* Beehive
  const pods = new Map<string, unknown>()
  while (true) {
    const exit = yield* Effect.exit(beehive.receive("metamanager"))
    if (Exit.isFailure(exit)) return
    const m = exit.value
    yield* say("metamanager", `<- ${m.route.source || "?"}: ${brief(m)}${m.header.sync ? " (sync)" : ""}`)
    if (m.route.operation === "insert" && typeof m.content === "object" && m.content !== null) {
      pods.set(String((m.content as { name?: unknown }).name), m.content)
    }
    if (m.header.sync) {
      const answer = m.route.resource === "pod" ? (pods.get(String(m.content)) ?? null) : { pods: pods.size }
      yield* beehive.sendResp(yield* Message.newResponse(m, answer), "metamanager")
      yield* say("metamanager", `-> ${m.route.source || "?"}: response ${JSON.stringify(answer)}`)
    }
  }
})

const overSocket = (path: string) =>
  Effect.gen(function* () {
    const beehive = yield* Beehive
    const socket = yield* SocketContext
    yield* beehive.addModule("metamanager")
    const client = yield* socket.connect({ module: "metamanager", address: unix(path) })
    yield* client.connected
    yield* handle
  }).pipe(Effect.scoped, Effect.provide(SocketContext.layerNode().pipe(Layer.provideMerge(Beehive.layer))))

const overNats = (url: string) =>
  Effect.gen(function* () {
    const host = yield* ContextHost
    const nats = yield* NatsContext.make({ servers: url, prefix: NatsPrefix, name: "metamanager" })
    yield* host.beehive.addModule("metamanager")
    yield* nats.serve("metamanager")
    yield* say("metamanager", `serving on NATS ${url} (prefix ${NatsPrefix})`)
    yield* handle
  }).pipe(Effect.scoped, Effect.provide(Beehive.layer))

/**
 * Runs metamanager over `link` until SIGTERM or SIGINT, which it answers by closing its connection
 * (over NATS, its goodbye tells edgecore at once that it is gone).
 */
export const runMetamanager = (link: MetaLink): Effect.Effect<void, unknown> =>
  Effect.gen(function* () {
    const serve: Effect.Effect<void, unknown> = link._tag === "socket" ? overSocket(link.path) : overNats(link.url)
    // Signals end it at any point, even before it is connected.
    const signal = yield* Effect.raceFirst(Effect.as(serve, undefined), awaitSignal(["SIGTERM", "SIGINT"]))
    if (signal !== undefined) yield* say("metamanager", `${signal}: stopped`)
  }).pipe(
    // edgecore closing the connection at its shutdown makes the socket client retry: not news for this demo.
    Effect.provideService(References.MinimumLogLevel, "Error")
  )
