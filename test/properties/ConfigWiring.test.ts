/**
 * A configuration file does what its entries say (R-SOCK-16), as a property: generated YAML with
 * server and client entries goes through `parseSocketConfig`, `serveConfig` and `connectConfig` over
 * the in-memory network, the server's process built from `SocketContext.layer` and `Beehive.layer` as an
 * application builds it. Each server entry listens on its address; every client entry's module is
 * accepted, and connects to the server of its own entry's address, up to that entry's `connmax`
 * identified connections (R-SOCK-13), the ones past it refused; a module without a client entry
 * cannot connect (`SocketConfigError`).
 *
 * The oracle is the generated entries read as SPEC.md says, never the configuration code.
 */
import { Context, Effect, Exit, Layer } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Beehive } from "../../src/contexts/Beehive.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { formatAddress, unix } from "../../src/contexts/socket/SocketAddress.ts"
import { parseSocketConfig } from "../../src/contexts/socket/SocketConfig.ts"
import { connectConfig, SocketContext, serveConfig } from "../../src/contexts/socket/SocketContext.ts"
import type { SocketEvent } from "../../src/contexts/socket/SocketEvents.ts"
import { Transport } from "../../src/contexts/socket/Transport.ts"
import { makeSide, run, waitFor } from "../socket/support.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"

const arbConfig = fc.record({
  servers: fc.array(
    fc.record({
      connmax: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      maxframesize: fc.option(fc.integer({ min: 1024, max: 1 << 20 }), { nil: undefined }),
      buffersize: fc.option(fc.integer({ min: 1, max: 1 << 16 }), { nil: undefined })
    }),
    { minLength: 1, maxLength: 2 }
  ),
  clients: fc.array(
    fc.record({
      server: fc.nat(),
      framing: fc.option(fc.constantFrom("frame", "ndjson"), { nil: undefined })
    }),
    { minLength: 1, maxLength: 5 }
  )
})

let runs = 0

describe("R-SOCK-16 a configuration serves and connects as its entries say", () => {
  it(
    "R-SOCK-16 R-SOCK-13 R-SOCK-6 each server entry listens on its address; each client entry's module connects to its entry's server, up to that server's connmax, the rest refused; a module without a client entry cannot connect",
    () =>
      fc.assert(
        fc.asyncProperty(arbConfig, ({ servers, clients }) =>
          run(
            Effect.gen(function* () {
              const directory = `/cfg${++runs}`
              const serverAddress = (i: number) => `${directory}/s${i}.sock`
              const clientServer = (server: number) => server % servers.length
              const yaml = [
                ...servers.map((entry, i) =>
                  [
                    `- module: srv${i}`,
                    "  server: true",
                    `  address: ${serverAddress(i)}`,
                    ...(entry.connmax === undefined ? [] : [`  connmax: ${entry.connmax}`]),
                    ...(entry.maxframesize === undefined ? [] : [`  maxframesize: ${entry.maxframesize}`]),
                    ...(entry.buffersize === undefined ? [] : [`  buffersize: ${entry.buffersize}`])
                  ].join("\n")
                ),
                ...clients.map((entry, j) =>
                  [
                    `- module: cli${j}`,
                    `  address: ${serverAddress(clientServer(entry.server))}`,
                    ...(entry.framing === undefined ? [] : [`  framing: ${entry.framing}`])
                  ].join("\n")
                )
              ].join("\n")
              const config = yield* Effect.fromResult(parseSocketConfig(yaml))
              const network = new MemoryNetwork()
              // The server's process as an application builds it: the layers of SocketContext and Beehive.
              const serverEvents: Array<SocketEvent> = []
              const layers = yield* Layer.build(
                SocketContext.layer({ onEvent: (event) => serverEvents.push(event) }).pipe(
                  Layer.provide(Layer.succeed(Transport, network.transport)),
                  Layer.provideMerge(Beehive.layer)
                )
              )
              const s = {
                socket: Context.get(layers, SocketContext),
                beehive: Context.get(layers, Beehive),
                events: serverEvents
              }
              for (let i = 0; i < servers.length; i++) yield* s.beehive.addModule(`srv${i}`)
              const listening = yield* serveConfig(s.socket, config)
              expect(listening.map((server) => formatAddress(server.address))).toEqual(
                servers.map((_, i) => formatAddress(unix(serverAddress(i))))
              )
              // The clients connect one at a time: each is identified or refused before the next comes.
              const held = servers.map(() => 0)
              const connected: Array<string> = []
              for (const [j, entry] of clients.entries()) {
                const server = clientServer(entry.server)
                const limit = servers[server]?.connmax ?? 64
                const module = `cli${j}`
                const c = yield* makeSide(network.transport)
                yield* c.beehive.addModule(module)
                const refusedBefore = s.events.filter((e) => e._tag === "Refused").length
                const client = yield* connectConfig(c.socket, config, module)
                let up = false
                yield* waitFor(() => {
                  up ||= c.events.some((e) => e._tag === "Connected")
                  return up || s.events.filter((e) => e._tag === "Refused").length > refusedBefore
                }, `${module} identified or refused`)
                expect(up, `${module}: ${held[server]} of ${limit} held at ${serverAddress(server)}`).toBe(
                  (held[server] ?? 0) < limit
                )
                if (up) {
                  held[server] = (held[server] ?? 0) + 1
                  connected.push(module)
                  // It reached the server of its own entry: its modules are that process's.
                  const exchange = yield* client.connected
                  expect(exchange.modules).toEqual(servers.map((_, i) => `srv${i}`))
                } else yield* client.close
              }
              const remote = (yield* s.beehive.snapshot).modules
                .filter((m) => m.contextType === "socket")
                .map((m) => m.name)
              expect(remote.sort()).toEqual([...connected].sort())
              // A module without a client entry has nothing to connect with.
              const stranger = yield* Effect.exit(connectConfig(s.socket, config, "stranger"))
              expect(Exit.isFailure(stranger) && errorOf(stranger)).toMatchObject({ _tag: "SocketConfigError" })
            })
          )
        ),
        fcParams(40)
      ),
    120_000
  )
})
