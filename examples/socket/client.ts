/**
 * The client process of the socket example: module "edged" connects to the server process (see
 * server.ts), then sends a message, makes a synchronous query, and asks the whole "meta" group, whose
 * members live in the other process, and exits.
 */
import { Console, Effect, Layer, pipe } from "effect"
import {
  Beehive,
  connectConfig,
  formatEvent,
  InsertOperation,
  Message,
  QueryOperation,
  SocketContext
} from "../../src/index.ts"
import { exampleConfig } from "./config.ts"

const program = Effect.gen(function* () {
  const beehive = yield* Beehive
  const socket = yield* SocketContext
  const config = yield* exampleConfig
  yield* beehive.addModule("edged")
  const client = yield* connectConfig(socket, config, "edged")
  const { modules, groups } = yield* client.connected
  yield* Console.log(`connected; remote modules: ${modules.join(", ")}; groups: ${JSON.stringify(groups)}`)

  const insert = pipe(yield* Message.newMessage(), Message.buildRouter("edged", "", "pod", InsertOperation))
  yield* beehive.send("metamanager", Message.fillBody(insert, { name: "nginx" }))
  yield* Console.log("send      -> metamanager: insert pod nginx")

  const query = pipe(yield* Message.newMessage(), Message.buildRouter("edged", "", "pod", QueryOperation))
  const answer = yield* beehive.sendSync("metamanager", Message.fillBody(query, "all pods"), "5 seconds")
  yield* Console.log(`sendSync  -> metamanager: ${JSON.stringify(answer.content)}`)

  const ask = pipe(yield* Message.newMessage(), Message.buildRouter("edged", "meta", "node", QueryOperation))
  const result = yield* beehive.sendToGroupSync("meta", Message.fillBody(ask, "status"), "5 seconds")
  for (const [member, response] of result.responses) {
    yield* Console.log(`group     <- ${member}: ${JSON.stringify(response.content)}`)
  }
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
