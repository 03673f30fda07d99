/**
 * The metamanager of the edge-node demo, in its own process: it connects to edgecore's socket as the
 * client module "metamanager", keeps the pods it is told about, and answers queries. It exits when
 * edgecore tells it to (SIGTERM) or when edgecore goes away.
 *
 *   node dist/examples/edge-node/metamanager.js SOCKET_PATH
 */
import { Effect, Exit, Layer, References } from "effect"
import { awaitSignal, Beehive, Message, SocketContext, unix } from "../../src/index.ts"
import { brief, say } from "./log.ts"

const socketPath = process.argv[2]
if (socketPath === undefined) {
  console.error("usage: metamanager.js SOCKET_PATH")
  process.exit(2)
}

const program = Effect.gen(function* () {
  const beehive = yield* Beehive
  const socket = yield* SocketContext
  yield* beehive.addModule("metamanager")
  const client = yield* socket.connect({ module: "metamanager", address: unix(socketPath) })
  yield* client.connected
  const pods = new Map<string, unknown>()
  const serve = Effect.gen(function* () {
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
  yield* serve
})

const layer = SocketContext.layerNode().pipe(Layer.provideMerge(Beehive.layer))
// Signals end it at any point, even before it is connected.
Effect.runPromise(
  Effect.raceFirst(program, awaitSignal(["SIGTERM", "SIGINT"])).pipe(
    Effect.scoped,
    Effect.provide(layer),
    // edgecore closing the connection at its shutdown makes the client retry: not news for this demo.
    Effect.provideService(References.MinimumLogLevel, "Error")
  )
).then(
  () => process.exit(0),
  (error) => {
    console.error(`metamanager: ${String(error)}`)
    process.exit(1)
  }
)
