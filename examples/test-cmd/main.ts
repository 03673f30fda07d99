/**
 * The example of Go beehive's `test/cmd` on beehive-effect: three modules started by the registry,
 * a Send, a SendSync with its response, and a group broadcast, then a graceful shutdown.
 *
 * Run it with `npm start`. It shuts down by itself once the exchange is over (or on Ctrl-C).
 */
import { Console, Deferred, Effect, Layer, pipe } from "effect"
import {
  awaitSignal,
  Beehive,
  DeleteOperation,
  InsertOperation,
  Message,
  Registry,
  UpdateOperation
} from "../../src/index.ts"

const short = (id: string) => id.slice(0, 8)
const describe = (m: Message.Message) =>
  `${m.route.operation} ${m.route.resource || "-"} ${JSON.stringify(m.content)} (id ${short(m.header.id)}${
    m.header.parentId ? `, parent ${short(m.header.parentId)}` : ""
  }, sync=${m.header.sync})`
const say = (module: string, text: string) => Console.log(`${`[${module}]`.padEnd(26)}${text}`)

const program = Effect.gen(function* () {
  const beehive = yield* Beehive
  const registry = yield* Registry
  const finished = {
    source: yield* Deferred.make<void>(),
    dest: yield* Deferred.make<void>(),
    group: yield* Deferred.make<void>()
  }

  yield* registry.register({
    name: "sourcemodule",
    group: "sourcegroup",
    start: Effect.gen(function* () {
      const hello = pipe(
        yield* Message.newMessage(),
        Message.buildRouter("sourcemodule", "", "test", InsertOperation),
        Message.fillBody("hello")
      )
      yield* beehive.send("destinationmodule", hello)
      yield* say("sourcemodule", `send      -> destinationmodule: ${describe(hello)}`)

      const question = pipe(
        yield* Message.newMessage(),
        Message.buildRouter("sourcemodule", "", "test", UpdateOperation),
        Message.fillBody("how are you")
      )
      yield* say("sourcemodule", `sendSync  -> destinationmodule: ${describe(question)}`)
      const answer = yield* beehive.sendSync("destinationmodule", question, 5000)
      yield* say("sourcemodule", `get resp  <- ${describe(answer)}`)

      const broadcast = pipe(
        yield* Message.newMessage(),
        Message.buildRouter("sourcemodule", "destinationgroup", "test", DeleteOperation),
        Message.fillBody("fine")
      )
      const { delivered } = yield* beehive.sendToGroup("destinationgroup", broadcast)
      yield* say("sourcemodule", `sendToGroup -> destinationgroup [${delivered.join(", ")}]: ${describe(broadcast)}`)
    }).pipe(Effect.ensuring(Deferred.succeed(finished.source, undefined)))
  })

  yield* registry.register({
    name: "destinationmodule",
    group: "destinationgroup",
    start: Effect.gen(function* () {
      for (let i = 0; i < 3; i++) {
        const m = yield* beehive.receive("destinationmodule")
        yield* say("destinationmodule", `receive   <- ${m.route.source}: ${describe(m)}`)
        if (m.header.sync) {
          const resp = yield* Message.newResponse(m, "fine")
          const taken = yield* beehive.sendResp(resp)
          yield* say("destinationmodule", `sendResp  -> ${m.route.source}: ${describe(resp)} taken=${taken}`)
        }
      }
    }).pipe(Effect.ensuring(Deferred.succeed(finished.dest, undefined)))
  })

  yield* registry.register({
    name: "destinationgroupmodule",
    group: "destinationgroup",
    start: Effect.gen(function* () {
      const m = yield* beehive.receive("destinationgroupmodule")
      yield* say("destinationgroupmodule", `receive   <- ${m.route.source}: ${describe(m)}`)
      if (m.header.sync) yield* beehive.sendResp(yield* Message.newResponse(m, "10 years old"))
    }).pipe(Effect.ensuring(Deferred.succeed(finished.group, undefined)))
  })

  yield* Console.log("beehive-effect: KubeEdge beehive's test/cmd example\n")
  yield* registry.startModules
  const reason = yield* Effect.raceFirst(
    Effect.as(Effect.all([finished.source, finished.dest, finished.group].map(Deferred.await)), "exchange complete"),
    awaitSignal()
  )
  const report = yield* registry.gracefulShutdown(reason)
  yield* Console.log(`\nshutdown (${report.reason}):`)
  for (const { name, ended } of report.modules) {
    const cleanup = report.cleanups.find((c) => c.module === name)
    yield* Console.log(`  ${name.padEnd(24)} ${ended}, cleaned up, ${cleanup?.undelivered.length ?? 0} undelivered`)
  }
})

Effect.runPromise(program.pipe(Effect.provide(Registry.layer.pipe(Layer.provideMerge(Beehive.layer))))).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
