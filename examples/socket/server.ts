/**
 * The server process of the socket example: modules "metamanager" and "devicetwin" (both in group
 * "meta") served over the socket configured in `socket_module.yaml`, to the client module "edged".
 *
 *   npm run build
 *   node dist/examples/socket/server.js     # then, in another terminal:
 *   node dist/examples/socket/client.js
 *
 * It runs until Ctrl-C (or SIGTERM), then shuts down gracefully.
 */
import { Console, Effect, Layer } from "effect"
import { awaitSignal, Beehive, formatEvent, Message, SocketContext, serveConfig } from "../../src/index.ts"
import { exampleConfig } from "./config.ts"

const program = Effect.gen(function* () {
  const beehive = yield* Beehive
  const socket = yield* SocketContext
  const config = yield* exampleConfig

  for (const module of ["metamanager", "devicetwin"]) {
    yield* beehive.addModule(module)
    yield* beehive.addModuleGroup(module, "meta")
    yield* Effect.forkChild(
      Effect.gen(function* () {
        while (true) {
          const m = yield* beehive.receive(module)
          yield* Console.log(
            `[${module}] ${m.route.operation} ${m.route.resource} from ${m.route.source}: ${JSON.stringify(m.content)}`
          )
          if (!m.header.sync) continue
          const answer =
            module === "metamanager"
              ? { pods: ["nginx", "mosquitto"], asked: m.content }
              : { twins: 3, asked: m.content }
          yield* beehive.sendResp(yield* Message.newResponse(m, answer), module)
        }
      })
    )
  }
  const servers = yield* serveConfig(socket, config)
  yield* Console.log(
    `serving metamanager and devicetwin on ${servers.map((s) => JSON.stringify(s.address)).join(", ")}`
  )
  const signal = yield* awaitSignal()
  yield* Console.log(`${signal}: shutting down`)
})

const layer = SocketContext.layerNode({ onEvent: (e) => console.log(`  (socket) ${formatEvent(e)}`) }).pipe(
  Layer.provideMerge(Beehive.layer)
)

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(layer))).then(
  () => process.exit(0),
  (error) => {
    console.error(String(error))
    process.exit(1)
  }
)
