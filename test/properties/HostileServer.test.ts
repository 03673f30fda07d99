/**
 * A client meets any server (R-SOCK-5, R-SOCK-7) as a property: a raw server, written here from
 * SPEC.md's wire description (NDJSON lines, Go's JSON keys), answers the client's handshake with a
 * generated answer: a module exchange of any shape, an error response, another message first, a
 * content that is no exchange, a line that is no JSON, or nothing. The client process has modules of
 * its own, and modules declared as socket modules with messages already sent to them.
 *
 * SPEC's verdict: only an exchange that answers the handshake connects; an error response is a
 * rejection; anything else fails the attempt. After an exchange, every module it lists except the
 * client's own is a socket module here, joined to the groups the exchange puts it in, except names
 * taken here by a module of another context (skipped, event `ModuleSkipped`); a declared module the
 * exchange lists is adopted, and what was sent to it meanwhile is written to the server, in order;
 * a declared module it does not list keeps waiting. The handshake offers a heartbeat exactly when one
 * is configured (a whole number above 0) and receipts unless they are turned off (R-SOCK-20,
 * R-SOCK-21). What the server sends afterwards is a response exactly when it is not a sync request,
 * has a parent id and has operation "response" or "error" (no call waits: each is reported
 * unclaimed, never delivered); anything else reaches the module, in order (R-SOCK-9), unless it has
 * no destination, names one of the server's own modules or a module not registered here: then it is
 * reported `Undeliverable` with SPEC's reason, and a sync request is answered with an error response
 * saying it (R-SOCK-10).
 */
import { Effect, Exit, Fiber, References } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import * as Message from "../../src/model/Message.ts"
import { line, lineReader, makeSide } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"

const names = ["edged", "twin", "hub", "bus"] as const
type Name = (typeof names)[number]
/** What a name is in the client process before it connects. */
type Role = "local" | "declared" | "unknown"

type Answer =
  | {
      readonly _tag: "exchange"
      /** Absent (undefined), Go's null for none, or the names. */
      readonly modules: ReadonlyArray<string> | null | undefined
      readonly groups: Readonly<Record<string, ReadonlyArray<string> | null>> | null | undefined
    }
  | { readonly _tag: "error response"; readonly content: unknown }
  | { readonly _tag: "another message first" }
  | { readonly _tag: "not an exchange"; readonly content: unknown }
  | { readonly _tag: "not JSON" }
  | { readonly _tag: "no answer" }
  | { readonly _tag: "silence" }

/**
 * A message the server sends after its exchange (R-SOCK-9, R-SOCK-10): mostly to the client's module X;
 * sometimes to no module, to a module not registered in the client's process, or to one of the
 * server's own modules (`sender`: the first the exchange registered there, X when it registered none).
 */
interface Later {
  readonly sync: boolean
  readonly parent: boolean
  readonly operation: "response" | "error" | "update"
  readonly to: "X" | "" | "nowhere" | "sender"
}

const arbLater: fc.Arbitrary<Later> = fc.record({
  sync: fc.boolean(),
  parent: fc.boolean(),
  operation: fc.constantFrom("response" as const, "error" as const, "update" as const),
  to: fc.constantFrom("X" as const, "X" as const, "" as const, "nowhere" as const, "sender" as const)
})

/** Why SPEC says a message from the peer to `to` is not delivered (R-SOCK-10); undefined: it is. */
const refusalOf = (to: string, senders: ReadonlySet<string>): string | undefined =>
  to === ""
    ? "the message has no destination"
    : senders.has(to)
      ? "the destination is a module of the sender"
      : to === "nowhere"
        ? 'module "nowhere" is not registered'
        : undefined

/** What SPEC says becomes of a message from the peer: a response (never delivered), or a delivery. */
const isResponse = (later: Later) => !later.sync && later.parent && later.operation !== "update"

const someNames = fc.subarray([...names, "X"] as Array<string>)

const arbAnswer: fc.Arbitrary<Answer> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      _tag: fc.constant("exchange" as const),
      modules: fc.oneof({ weight: 6, arbitrary: someNames }, fc.constant(null), fc.constant(undefined)),
      groups: fc.oneof(
        {
          weight: 4,
          arbitrary: fc.dictionary(fc.constantFrom("g", "h", "edged"), fc.option(someNames, { nil: null }), {
            maxKeys: 3
          })
        },
        fc.constant(null),
        fc.constant(undefined)
      )
    })
  },
  // An error response, even one shaped as an exchange, is a rejection.
  fc.record({ _tag: fc.constant("error response" as const), content: fc.constantFrom<unknown>("no", { modules: [] }) }),
  fc.constant({ _tag: "another message first" as const }),
  fc.record({
    _tag: fc.constant("not an exchange" as const),
    content: fc.constantFrom<unknown>("modules", 42, [], { modules: "edged" }, { modules: [1] }, { groups: [] })
  }),
  fc.constant({ _tag: "not JSON" as const }),
  fc.constant({ _tag: "no answer" as const }),
  // The connection stays open and nothing comes: the client's handshake bound ends the attempt.
  fc.constant({ _tag: "silence" as const })
)

describe("R-SOCK-5 R-SOCK-7 a client meets any server", () => {
  it("R-SOCK-5 R-SOCK-7 R-SOCK-9 R-SOCK-10 R-SOCK-20 R-SOCK-21 only an exchange answering the handshake connects; its modules are registered, skipped or adopted as SPEC says, and what waited for an adopted module is written; what the server sends then is claimed, delivered, or refused as SPEC says", () =>
    fc.assert(
      fc.asyncProperty(
        fc.tuple(...names.map(() => fc.constantFrom<Role>("local", "declared", "unknown"))),
        fc.tuple(...names.map(() => fc.integer({ min: 0, max: 2 }))),
        arbAnswer,
        fc.record({
          receipts: fc.constantFrom(undefined, true, false),
          heartbeatMs: fc.constantFrom(undefined, 0, -5, 1.5, 200, 10_000)
        }),
        fc.array(arbLater, { maxLength: 6 }),
        (roles, waiting, answer, offers, later) =>
          Effect.runPromise(
            Effect.scoped(
              Effect.gen(function* () {
                const roleOf = (name: string): Role => roles[names.indexOf(name as Name)] ?? "unknown"
                // The server's modules the exchange registers here: those it lists, less X and local names.
                const senders = new Set(
                  answer._tag === "exchange"
                    ? (answer.modules ?? []).filter((name) => name !== "X" && roleOf(name) !== "local")
                    : []
                )
                const destinationOf = (to: Later["to"]) => (to === "sender" ? ([...senders][0] ?? "X") : to)
                const network = new MemoryNetwork()
                const address = unix("hostile")
                const listener = yield* network.transport.listen(address)
                const written: Array<{ readonly to: string; readonly id: string }> = []
                // The error responses the client wrote back for requests it could not deliver.
                const refusals: Array<{ readonly parent: string; readonly content: unknown }> = []
                let handshake: any
                const server = yield* Effect.forkChild(
                  Effect.gen(function* () {
                    const connection = yield* listener.accept
                    const next = lineReader(connection)
                    handshake = JSON.parse(yield* next)
                    const id = handshake.header.msg_id as string
                    const header = (parentId: string) => ({
                      msg_id: `server-${parentId}`,
                      parent_msg_id: parentId,
                      timestamp: 1,
                      sync: false
                    })
                    const route = (operation: string) => ({
                      source: "server",
                      destination: "X",
                      operation,
                      resource: "module"
                    })
                    switch (answer._tag) {
                      case "exchange":
                        yield* connection.write(
                          line({
                            header: header(id),
                            route: route("response"),
                            content: {
                              ...(answer.modules === undefined ? {} : { modules: answer.modules }),
                              ...(answer.groups === undefined ? {} : { groups: answer.groups })
                            }
                          })
                        )
                        break
                      case "error response":
                        yield* connection.write(
                          line({ header: header(id), route: route("error"), content: answer.content })
                        )
                        break
                      case "another message first":
                        yield* connection.write(
                          line({ header: header("another"), route: route("response"), content: { modules: [] } })
                        )
                        break
                      case "not an exchange":
                        yield* connection.write(
                          line({ header: header(id), route: route("response"), content: answer.content })
                        )
                        break
                      case "not JSON":
                        yield* connection.write(new TextEncoder().encode("{not json\n"))
                        break
                      case "no answer":
                        yield* connection.close
                        return
                      case "silence":
                        return yield* Effect.never
                    }
                    if (answer._tag === "exchange") {
                      for (const [k, m] of later.entries()) {
                        yield* connection.write(
                          line({
                            header: {
                              msg_id: `later-${k}`,
                              ...(m.parent ? { parent_msg_id: `nobody-asked-${k}` } : {}),
                              timestamp: 2,
                              sync: m.sync
                            },
                            route: {
                              source: "server",
                              destination: destinationOf(m.to),
                              operation: m.operation,
                              resource: "r"
                            },
                            content: k
                          })
                        )
                      }
                    }
                    while (true) {
                      const message = JSON.parse(yield* next)
                      const to = message.route?.destination
                      if (
                        message.route?.operation === "error" &&
                        `${message.header.parent_msg_id}`.startsWith("later-")
                      )
                        refusals.push({ parent: message.header.parent_msg_id, content: message.content })
                      else if (typeof to === "string" && to !== "") written.push({ to, id: message.header.msg_id })
                    }
                  }).pipe(Effect.ignore)
                )

                const sent = new Map<string, Array<string>>()
                const client = yield* makeSide(network.transport, offers)
                const b = client.beehive
                yield* b.addModule("X")
                for (const [i, name] of names.entries()) {
                  if (roles[i] === "local") yield* b.addModule(name)
                  if (roles[i] !== "declared") continue
                  yield* b.addModule(name, { contextType: "socket" })
                  const ids = Array.from({ length: waiting[i] ?? 0 }, (_, k) => `${name}-${k}`)
                  for (const id of ids) yield* b.send(name, Message.make({ header: { id } }))
                  sent.set(name, ids)
                }
                const socket = yield* client.socket.connect({
                  module: "X",
                  address,
                  framing: "ndjson",
                  maxAttempts: 1,
                  // Only a silent server meets the bound: the others answer (or close) at once.
                  ...(answer._tag === "silence" ? { handshakeTimeout: "20 millis" } : {})
                })
                const connected = yield* Effect.exit(socket.connected)
                const connects = answer._tag === "exchange" && answer.modules !== undefined
                // The handshake is Go's, stamped with the address's socket type, offering what SPEC says.
                expect(handshake?.header?.type).toBe("unix")
                expect(handshake?.header?.sync).toBe(true)
                expect(handshake?.route).toMatchObject({ source: "X", operation: "add", resource: "module" })
                const heartbeat =
                  offers.heartbeatMs !== undefined && Number.isInteger(offers.heartbeatMs) && offers.heartbeatMs > 0
                    ? offers.heartbeatMs
                    : undefined
                const content = handshake?.content
                expect(typeof content === "object" && content !== null ? content.heartbeat : undefined).toBe(heartbeat)
                expect(typeof content === "object" && content !== null && content.receipts !== undefined).toBe(
                  offers.receipts !== false
                )
                expect(Exit.isSuccess(connected), `connected after ${JSON.stringify(answer)}`).toBe(connects)
                expect(client.events.some((e) => e._tag === "Connected")).toBe(connects)
                const snapshot = yield* b.snapshot
                const module = (name: string) => snapshot.modules.find((m) => m.name === name)
                // A failed attempt says why, with the protocol error's reason where there is one (R-SOCK-5).
                const gaveUp = client.events.find((e) => e._tag === "GaveUp")
                const gaveUpReason = gaveUp?._tag === "GaveUp" ? gaveUp.reason : undefined
                if (answer._tag === "silence") {
                  expect(gaveUpReason).toContain("(Timeout): no handshake answer in time")
                }
                const protocolReason = {
                  "another message first": "(Exchange)",
                  "not an exchange": "(Exchange)",
                  "not JSON": "(Json)"
                }[answer._tag as string]
                if (protocolReason !== undefined) expect(gaveUpReason).toContain(protocolReason)
                if (!connects || answer._tag !== "exchange") {
                  // Nothing of a failed attempt is registered; declared modules still wait.
                  for (const name of names) {
                    expect(module(name)?.contextType, name).toBe(
                      roleOf(name) === "unknown" ? undefined : roleOf(name) === "local" ? "channel" : "socket"
                    )
                  }
                  expect(written).toEqual([])
                  yield* Fiber.interrupt(server)
                  return
                }
                const listed = new Set(answer.modules ?? [])
                for (const name of names) {
                  const role = roleOf(name)
                  const want =
                    role === "local" ? "channel" : role === "declared" || listed.has(name) ? "socket" : undefined
                  expect(module(name)?.contextType, name).toBe(want)
                  expect(
                    client.events.some((e) => e._tag === "ModuleSkipped" && e.module === name),
                    `${name} skipped`
                  ).toBe(role === "local" && listed.has(name))
                  // A module registered from the exchange is in the groups the exchange puts it in.
                  if (role === "unknown" && listed.has(name)) {
                    const groups = Object.entries(answer.groups ?? {})
                      .filter(([, members]) => (members ?? []).includes(name))
                      .map(([group]) => group)
                      .sort()
                    expect([...(module(name)?.groups ?? [])].sort(), `${name}'s groups`).toEqual(groups)
                  }
                }
                // The client's own module is not the exchange's to register: not even tried (no ModuleSkipped).
                expect(module("X")?.contextType).toBe("channel")
                expect(client.events.some((e) => e._tag === "ModuleSkipped" && e.module === "X")).toBe(false)
                // What waited for an adopted module reaches the server, in order; the others keep waiting.
                const adopted = [...sent.entries()].filter(([name]) => listed.has(name))
                const expected = adopted.flatMap(([name, ids]) => ids.map((id) => ({ to: name, id })))
                for (let turn = 0; turn < 200 && written.length < expected.length; turn++) yield* Effect.yieldNow
                for (const [name, ids] of adopted) {
                  expect(
                    written.filter((w) => w.to === name).map((w) => w.id),
                    `written for ${name}`
                  ).toEqual(ids)
                }
                for (const [name, ids] of sent) {
                  if (!listed.has(name)) expect(module(name)?.queued ?? 0, `${name} still waits`).toBe(ids.length)
                }
                expect(written.length).toBe(expected.length)
                // What the server sent X after the exchange: responses are never delivered, and none is
                // claimed (no call waits), so each is reported; everything else reaches X's mailbox, in order.
                // What is neither reaches no module: reported Undeliverable with SPEC's reason, and a sync
                // request is answered at once with an error response saying it (R-SOCK-10).
                const responses = later.flatMap((m, k) => (isResponse(m) ? [`later-${k}`] : []))
                const refusedOf = (m: Later) => (isResponse(m) ? undefined : refusalOf(destinationOf(m.to), senders))
                const deliveries = later.flatMap((m, k) =>
                  isResponse(m) || refusedOf(m) !== undefined ? [] : [`later-${k}`]
                )
                const refused = later.flatMap((m, k) => {
                  const reason = refusedOf(m)
                  return reason === undefined ? [] : [{ msgId: `later-${k}`, reason, sync: m.sync }]
                })
                const unclaimed = () => client.events.flatMap((e) => (e._tag === "UnclaimedResponse" ? [e.msgId] : []))
                const undeliverable = () =>
                  client.events.flatMap((e) =>
                    e._tag === "Undeliverable" ? [{ msgId: e.msgId, reason: e.reason }] : []
                  )
                for (let turn = 0; turn < 200; turn++) {
                  const queued = (yield* b.snapshot).modules.find((m) => m.name === "X")?.queued ?? 0
                  if (
                    queued >= deliveries.length &&
                    unclaimed().length >= responses.length &&
                    undeliverable().length >= refused.length &&
                    refusals.length >= refused.filter((r) => r.sync).length
                  )
                    break
                  yield* Effect.yieldNow
                }
                const byId = (a: { readonly msgId: string }, z: { readonly msgId: string }) =>
                  a.msgId < z.msgId ? -1 : 1
                expect(undeliverable().sort(byId)).toEqual(refused.map(({ msgId, reason }) => ({ msgId, reason })))
                expect(refusals.sort((a, z) => (a.parent < z.parent ? -1 : 1))).toEqual(
                  refused.filter((r) => r.sync).map((r) => ({ parent: r.msgId, content: r.reason }))
                )
                const received: Array<string> = []
                for (const _ of deliveries) received.push((yield* b.receive("X")).header.id)
                expect(received).toEqual(deliveries)
                expect((yield* b.snapshot).modules.find((m) => m.name === "X")?.queued).toBe(0)
                expect(unclaimed()).toEqual(responses)
                yield* Fiber.interrupt(server)
              })
            ).pipe(Effect.provideService(References.MinimumLogLevel, "None"))
          )
      ),
      fcParams(150)
    ))
})
