/**
 * edgecore of the edge-node demo, in the spirit of KubeEdge's: modules edged, edgehub, devicetwin and
 * eventbus, started by the registry, and metamanager in another process, reached over a unix socket or
 * through NATS. A pod arrives from the cloud; edgehub hands it to edged and metamanager; edged asks
 * metamanager for it (a sync request across processes) and broadcasts the pod's status on the bus;
 * edgehub asks the whole "meta" group (one member local, one remote). Then everything shuts down
 * gracefully. Ctrl-C shuts down early.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Data, Deferred, Effect, Exit, Fiber, Layer, pipe, References } from "effect"
import { startNatsServerOn } from "../../scripts/natsServer.ts"
import {
  awaitSignal,
  Beehive,
  InsertOperation,
  Message,
  NatsContext,
  QueryOperation,
  Registry,
  SocketContext,
  UpdateOperation,
  unix
} from "../../src/index.ts"
import { brief, say, startedAt } from "./log.ts"
import { NatsPrefix } from "./metamanager.ts"

/**
 * How edgecore reaches metamanager: over a unix socket to a child process; or through NATS, with a
 * child process (on a nats-server started for the run unless `url` names one), or with a metamanager
 * that another process serves on the NATS server at `url` (`spawnChild` false).
 */
export type EdgeLink =
  | { readonly _tag: "socket" }
  | { readonly _tag: "nats"; readonly url: string | undefined; readonly spawnChild: boolean }

/** The child, once spawned, whether the script finished or was cut short. */
interface Started {
  child: ChildProcess | undefined
}

/** How long edgecore waits for metamanager: a child starting, or a process started by hand elsewhere. */
const ChildTimeout = "10 seconds"
const ElsewhereTimeout = "30 seconds"

/** metamanager did not become a module here in time: its process failed, or nobody serves it on NATS. */
export class MetamanagerMissing extends Data.TaggedError("MetamanagerMissing")<{
  readonly over: string
  readonly waited: string
}> {
  override get message(): string {
    return `metamanager did not connect over ${this.over} within ${this.waited}`
  }
}

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

/** Starts metamanager in a child process: this program again, in its "meta" role. */
const spawnMetamanager = (started: Started, args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const child = yield* Effect.sync(() => {
      const spawned = spawn(
        process.execPath,
        [join(dirname(fileURLToPath(import.meta.url)), "main.js"), "--role", "meta", ...args],
        {
          stdio: ["ignore", "inherit", "inherit"],
          env: { ...process.env, EDGE_NODE_STARTED: String(startedAt()) }
        }
      )
      started.child = spawned
      return spawned
    })
    yield* say("edgecore", `metamanager started as process ${child.pid}`)
  })

/** Over a unix socket: serves the socket, starts the child, waits for its handshake. */
const attachSocket = (socketPath: string, started: Started) =>
  Effect.gen(function* () {
    const beehive = yield* Beehive
    const socket = yield* SocketContext
    yield* socket.serve({ address: unix(socketPath), accept: ["metamanager"] })
    yield* spawnMetamanager(started, ["--socket", socketPath])
    // The handshake registers metamanager here as a module of the socket context.
    yield* Effect.gen(function* () {
      while (!(yield* beehive.snapshot).modules.some((m) => m.name === "metamanager")) yield* Effect.sleep("20 millis")
    }).pipe(
      Effect.timeoutOrElse({
        duration: ChildTimeout,
        orElse: () => Effect.fail(new MetamanagerMissing({ over: socketPath, waited: ChildTimeout }))
      })
    )
  })

/**
 * Through NATS: starts a nats-server unless one is named, connects, starts the child if it is ours to
 * start, and waits for metamanager's announcement. The server and the connection belong to the
 * program's scope, so they outlive the child's exit at the shutdown, the server the longest.
 */
const attachNats = (link: Extract<EdgeLink, { _tag: "nats" }>, started: Started) =>
  Effect.gen(function* () {
    // A Ctrl-C in the terminal reaches the whole process group: the server must outlive edgecore's shutdown.
    const url =
      link.url ??
      (yield* Effect.map(startNatsServerOn(undefined, [], { ownProcessGroup: true }), (server) => server.url))
    if (link.url === undefined) yield* say("edgecore", `nats-server started on ${url}`)
    const nats = yield* NatsContext.make({ servers: url, prefix: NatsPrefix, name: "edgecore" })
    if (link.spawnChild) yield* spawnMetamanager(started, ["--nats-url", url])
    const waited = link.spawnChild ? ChildTimeout : ElsewhereTimeout
    yield* nats
      .awaitModule("metamanager", waited)
      .pipe(Effect.catchTag("ModuleNotFound", () => Effect.fail(new MetamanagerMissing({ over: url, waited }))))
  })

const program = <R>(where: string, attach: (started: Started) => Effect.Effect<void, unknown, R>) =>
  Effect.gen(function* () {
    const started: Started = { child: undefined }
    const beehive = yield* Beehive
    const registry = yield* Registry
    const edgedDone = yield* Deferred.make<void>()
    const exchangeDone = yield* Deferred.make<void>()

    // Listening for Ctrl-C from the very start: the shutdown below runs however the script ends.
    const signal = yield* Effect.forkChild(awaitSignal(), { startImmediately: true })
    yield* say("edgecore", `starting; ${where}`)

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

      yield* attach(started)
      const { contextType } = (yield* beehive.snapshot).modules.find((m) => m.name === "metamanager") ?? {}
      yield* beehive.addModuleGroup("metamanager", "meta")
      yield* say("edgecore", `metamanager connected (${contextType} module, group meta)`)

      const cloud = pipe(yield* Message.newMessage(), Message.buildRouter("cloudhub", "", "pod", InsertOperation))
      yield* beehive.send("edgehub", Message.fillBody(cloud, { name: "nginx", image: "nginx:1.27" }))

      yield* Deferred.await(exchangeDone)
      return "exchange complete"
    })
    // A script that fails (metamanager never turned up) still shuts down, so that no child outlives edgecore.
    const outcome = yield* Effect.exit(Effect.raceFirst(script, Fiber.join(signal)))
    const reason = Exit.isSuccess(outcome) ? outcome.value : "failed"
    yield* say("edgecore", `${reason}: shutting down`)
    const report = yield* registry.gracefulShutdown(reason)
    for (const { name, ended } of report.modules) yield* say("edgecore", `${name}: ${ended}`)
    const child = started.child
    if (child !== undefined) {
      yield* Effect.sync(() => child.kill("SIGTERM"))
      yield* say("edgecore", `metamanager process exited with ${yield* exitOf(child)}`)
    }
    yield* say("edgecore", `cleaned up ${report.cleanups.length} modules`)
    yield* outcome
  })

/** A temporary directory for the socket, removed with the scope. */
const socketDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "edge-node-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/**
 * Runs edgecore with metamanager reached over `link`, until the exchange is over or a signal cuts it
 * short; fails if metamanager does not turn up in time.
 */
export const runEdgecore = (link: EdgeLink): Effect.Effect<void, unknown> => {
  const run =
    link._tag === "socket"
      ? Effect.gen(function* () {
          const socketPath = join(yield* socketDir, "edgecore.sock")
          yield* program(`metamanager will run in a child process over ${socketPath}`, (started) =>
            attachSocket(socketPath, started)
          )
        }).pipe(Effect.scoped, Effect.provide(SocketContext.layerNode()))
      : program(
          link.spawnChild
            ? "metamanager will run in a child process over NATS"
            : `metamanager runs in another process, served on NATS ${link.url}`,
          (started) => attachNats(link, started)
        ).pipe(Effect.scoped)
  // The demo prints its own events, one line each; the library's warnings (a peer going away during the
  // shutdown) would only be noise here.
  return run.pipe(
    Effect.provide(Registry.layer.pipe(Layer.provideMerge(Beehive.layer))),
    Effect.provideService(References.MinimumLogLevel, "Error")
  )
}
