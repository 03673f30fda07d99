/**
 * The edge-node demo, in the spirit of KubeEdge's edgecore: modules edged, edgehub, devicetwin and
 * eventbus run in this process, started by the registry; metamanager runs in a child process and
 * talks to them over a unix socket. A pod arrives from the cloud; edgehub hands it to edged and
 * metamanager; edged asks metamanager for it (a sync request across processes) and broadcasts the
 * pod's status on the bus; edgehub asks the whole "meta" group (one member local, one remote). Then
 * everything shuts down gracefully. Ctrl-C shuts down early.
 *
 *   npm start
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Deferred, Effect, Exit, Fiber, Layer, pipe, References } from "effect"
import {
  awaitSignal,
  Beehive,
  InsertOperation,
  Message,
  QueryOperation,
  Registry,
  SocketContext,
  UpdateOperation,
  unix
} from "../../src/index.ts"
import { brief, say, startedAt } from "./log.ts"

const dir = mkdtempSync(join(tmpdir(), "edge-node-"))
const socketPath = join(dir, "edgecore.sock")

/** A module's receive loop, until its mailbox is closed by the shutdown. */
const loop = (module: string, handle: (m: Message.Message) => Effect.Effect<void, unknown, never>) =>
  Effect.gen(function* () {
    const beehive = yield* Beehive
    while (true) {
      const exit = yield* Effect.exit(beehive.receive(module))
      if (Exit.isFailure(exit)) return
      yield* handle(exit.value)
    }
  })

/** How the child ended: "0", "1", or the signal that ended it. */
const exitOf = (child: ChildProcess) =>
  Effect.callback<string>((resume) => {
    const describe = (code: number | null, signal: NodeJS.Signals | null) => String(code ?? signal)
    if (child.exitCode !== null || child.signalCode !== null)
      return resume(Effect.succeed(describe(child.exitCode, child.signalCode)))
    child.once("exit", (code, signal) => resume(Effect.succeed(describe(code, signal))))
  })

const program = Effect.gen(function* () {
  // The child, once spawned, whether the script finished or was cut short.
  const started: { child: ChildProcess | undefined } = { child: undefined }
  const beehive = yield* Beehive
  const registry = yield* Registry
  const socket = yield* SocketContext
  const edgedDone = yield* Deferred.make<void>()
  const exchangeDone = yield* Deferred.make<void>()

  // Listening for Ctrl-C from the very start: the shutdown below runs however the script ends.
  const signal = yield* Effect.forkChild(awaitSignal(), { startImmediately: true })
  yield* say("edgecore", `starting; metamanager will run in a child process over ${socketPath}`)

  yield* registry.register({
    name: "edgehub",
    group: "hub",
    start: loop("edgehub", (m) =>
      Effect.gen(function* () {
        yield* say("edgehub", `<- ${m.route.source}: ${brief(m)}`)
        const forward = pipe(yield* Message.clone(m), Message.setRoute("edgehub", "meta"))
        yield* beehive.send("metamanager", forward)
        yield* say("edgehub", `-> metamanager (remote): ${brief(forward)}`)
        yield* beehive.send("edged", Message.setRoute(forward, "edgehub", "edged"))
        yield* say("edgehub", `-> edged: ${brief(forward)}`)
        yield* Deferred.await(edgedDone)
        const ask = pipe(yield* Message.newMessage(), Message.buildRouter("edgehub", "meta", "node", QueryOperation))
        yield* say("edgehub", "=> group meta (sync): query node")
        const result = yield* beehive.sendToGroupSync("meta", Message.fillBody(ask, "status"), "5 seconds")
        for (const [member, response] of result.responses) {
          yield* say("edgehub", `<= ${member}: ${JSON.stringify(response.content)}`)
        }
        yield* Deferred.succeed(exchangeDone, undefined)
      })
    )
  })

  yield* registry.register({
    name: "edged",
    group: "edged",
    start: loop("edged", (m) =>
      Effect.gen(function* () {
        yield* say("edged", `<- ${m.route.source}: ${brief(m)}`)
        const name = (m.content as { name: string }).name
        const query = pipe(yield* Message.newMessage(), Message.buildRouter("edged", "meta", "pod", QueryOperation))
        yield* say("edged", `-> metamanager (remote, sync): query pod ${name}`)
        const answer = yield* beehive.sendSync("metamanager", Message.fillBody(query, name), "5 seconds")
        yield* say("edged", `<- metamanager: ${JSON.stringify(answer.content)}`)
        const status = pipe(
          yield* Message.newMessage(),
          Message.buildRouter("edged", "bus", "podstatus", UpdateOperation)
        )
        const { delivered } = yield* beehive.sendToGroup("bus", Message.fillBody(status, { name, phase: "Running" }))
        yield* say("edged", `=> group bus [${delivered.join(", ")}]: podstatus ${name} Running`)
        yield* Deferred.succeed(edgedDone, undefined)
      })
    )
  })

  yield* registry.register({
    name: "devicetwin",
    group: "twin",
    start: loop("devicetwin", (m) =>
      Effect.gen(function* () {
        yield* say("devicetwin", `<- ${m.route.source}: ${brief(m)}${m.header.sync ? " (sync)" : ""}`)
        if (m.header.sync) {
          yield* beehive.sendResp(yield* Message.newResponse(m, { twins: 2 }))
          yield* say("devicetwin", `-> ${m.route.source}: response {"twins":2}`)
        }
      })
    )
  })

  yield* registry.register({
    name: "eventbus",
    group: "bus",
    start: loop("eventbus", (m) => say("eventbus", `<- ${m.route.source}: ${brief(m)} (published to MQTT)`))
  })

  const script = Effect.gen(function* () {
    yield* registry.startModules
    // devicetwin also listens on the bus and answers for the meta group, next to the remote metamanager.
    yield* beehive.addModuleGroup("devicetwin", "bus")
    yield* beehive.addModuleGroup("devicetwin", "meta")

    yield* socket.serve({ address: unix(socketPath), accept: ["metamanager"] })
    const child = spawn(
      process.execPath,
      [join(dirname(fileURLToPath(import.meta.url)), "metamanager.js"), socketPath],
      {
        stdio: ["ignore", "inherit", "inherit"],
        env: { ...process.env, EDGE_NODE_STARTED: String(startedAt()) }
      }
    )
    started.child = child

    // The handshake registers metamanager here as a module of the socket context.
    yield* Effect.gen(function* () {
      while (!(yield* beehive.snapshot).modules.some((m) => m.name === "metamanager")) yield* Effect.sleep("20 millis")
    }).pipe(Effect.timeout("10 seconds"))
    yield* beehive.addModuleGroup("metamanager", "meta")
    yield* say("edgecore", "metamanager connected (socket module, group meta)")

    const cloud = pipe(yield* Message.newMessage(), Message.buildRouter("cloudhub", "", "pod", InsertOperation))
    yield* beehive.send("edgehub", Message.fillBody(cloud, { name: "nginx", image: "nginx:1.27" }))

    yield* Deferred.await(exchangeDone)
    return { reason: "exchange complete", child }
  })
  const outcome = yield* Effect.raceFirst(
    script,
    Effect.map(Fiber.join(signal), (name) => ({ reason: name, child: undefined }))
  )
  const child = outcome.child ?? started.child
  const reason = outcome.reason
  yield* say("edgecore", `${reason}: shutting down`)
  const report = yield* registry.gracefulShutdown(reason)
  for (const { name, ended } of report.modules) yield* say("edgecore", `${name}: ${ended}`)
  if (child !== undefined) {
    child.kill("SIGTERM")
    yield* say("edgecore", `metamanager process exited with ${yield* exitOf(child)}`)
  }
  yield* say("edgecore", `cleaned up ${report.cleanups.length} modules`)
})

const layer = Registry.layer.pipe(Layer.provideMerge(SocketContext.layerNode()), Layer.provideMerge(Beehive.layer))

// The demo prints its own events, one line each; the library's warnings (a peer going away during the
// shutdown) would only be noise here.
Effect.runPromise(
  program.pipe(Effect.scoped, Effect.provide(layer), Effect.provideService(References.MinimumLogLevel, "Error"))
).then(
  () => {
    rmSync(dir, { recursive: true, force: true })
    process.exit(0)
  },
  (error) => {
    console.error(`edgecore: ${String(error)}`)
    rmSync(dir, { recursive: true, force: true })
    process.exit(1)
  }
)
