/**
 * The socket handshake, as Go beehive does it: the client sends
 * `{header:{msg_id, timestamp, sync:true, type:<sockettype>}, route:{source:<module>, operation:"add",
 * resource:"module"}, content:""}`; the server answers with a response (parent id = the handshake's id)
 * whose content is the module exchange `{modules:[...], groups:{group:[...]}}`, or with an error
 * response when it does not accept the module. Unlike Go, the client matches the answer by parent id
 * instead of taking whatever message comes next, and validates the exchange.
 *
 * Heartbeats (R-SOCK-20) and receipts (R-SOCK-21): a client that offers them sends
 * `content: {"heartbeat": <ms>, "receipts": {...}}` instead of `""` (Go's server reads nothing of the
 * content); a server that offers them too answers with what both use, as the exchange's `heartbeat`
 * and `receipts`. A Go client offers neither, and gets Go's answer byte for byte.
 *
 * @since 0.1.0
 */
import { Effect, pipe, Result, Schema } from "effect"
import { OperationTypeModule, ResourceTypeModule, ResponseErrorOperation } from "../../model/Constants.ts"
import * as Message from "../../model/Message.ts"
import { encodeJsonResult } from "../../model/MessageJson.ts"
import { type ConnectionClosed, HandshakeRejected, SocketProtocolError } from "../../model/SocketErrors.ts"
import { type MessageReader, parseIncoming } from "./MessageReader.ts"
import { decodeOffer, type ReceiptOffer } from "./Receipts.ts"

/**
 * What a server tells a client it serves: its module names and its groups with their members.
 *
 * @category models
 */
export interface ModuleExchange {
  readonly modules: ReadonlyArray<string>
  readonly groups: Readonly<Record<string, ReadonlyArray<string>>>
  /** The heartbeat interval both peers agreed on, in milliseconds; absent: none. */
  readonly heartbeat?: number | undefined
  /** The server's receipts answer (R-SOCK-21); absent: no receipts on this connection. */
  readonly receipts?: ReceiptOffer | undefined
}

/** What a client offers in its handshake beyond Go's: nothing, for a handshake Go would send. @category models */
export interface HandshakeOffers {
  readonly heartbeatMs?: number | undefined
  readonly receipts?: ReceiptOffer | undefined
}

/**
 * The exchange's wire shape. Go writes `null` for an empty slice or map, so both are accepted.
 *
 * @category schemas
 */
export const ModuleExchangeSchema = Schema.Struct({
  modules: Schema.NullOr(Schema.Array(Schema.String)),
  groups: Schema.optionalKey(Schema.NullOr(Schema.Record(Schema.String, Schema.NullOr(Schema.Array(Schema.String))))),
  heartbeat: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0))),
  receipts: Schema.optionalKey(Schema.Unknown)
})

const decodeExchangeWire = Schema.decodeUnknownResult(ModuleExchangeSchema)

/**
 * The most modules a module exchange may list, as a NATS announcement (R-SOCK-7): each becomes a socket
 * module here, about 3 KB.
 *
 * @category constants
 */
export const MaxExchangeModules = 10_000

/** The most groups and memberships, added up, a module exchange may list (R-SOCK-7). @category constants */
export const MaxExchangeGroupEntries = 100_000

/**
 * Validates a handshake answer's content as a module exchange. Fails with `SocketProtocolError`
 * ("Exchange"), also for one listing more than `MaxExchangeModules` modules or `MaxExchangeGroupEntries`
 * groups and memberships (a server could otherwise make this process register millions). Never throws.
 *
 * @category decoding
 */
export const decodeExchange = (peer: string, content: unknown): Result.Result<ModuleExchange, SocketProtocolError> => {
  const decoded = decodeExchangeWire(content)
  if (Result.isFailure(decoded)) {
    return Result.fail(new SocketProtocolError({ peer, reason: "Exchange", detail: decoded.failure.message }))
  }
  const refused = (detail: string) => Result.fail(new SocketProtocolError({ peer, reason: "Exchange", detail }))
  const modules = decoded.success.modules ?? []
  if (modules.length > MaxExchangeModules)
    return refused(`it lists ${modules.length} modules, more than ${MaxExchangeModules}`)
  const groups: Record<string, ReadonlyArray<string>> = {}
  let entries = 0
  for (const [group, members] of Object.entries(decoded.success.groups ?? {})) {
    groups[group] = members ?? []
    entries += 1 + (members?.length ?? 0)
  }
  if (entries > MaxExchangeGroupEntries)
    return refused(`it lists ${entries} groups and memberships, more than ${MaxExchangeGroupEntries}`)
  const heartbeat = decoded.success.heartbeat
  const receipts = decodeOffer(decoded.success.receipts)
  return Result.succeed({
    modules,
    groups,
    ...(heartbeat === undefined ? {} : { heartbeat }),
    ...(receipts === undefined ? {} : { receipts })
  })
}

/**
 * The handshake a client module sends (Go's `exchangeModuleInfo` message), offering a heartbeat
 * interval and receipts when `offers` has them; with none it is Go's handshake. Never fails.
 *
 * @category constructors
 */
export const makeHandshake = (
  module: string,
  socketType: string,
  offers: HandshakeOffers = {}
): Effect.Effect<Message.Message> =>
  Effect.map(Message.newMessage(), (m) => {
    const heartbeat = offers.heartbeatMs !== undefined && offers.heartbeatMs > 0 ? offers.heartbeatMs : undefined
    const content =
      heartbeat === undefined && offers.receipts === undefined
        ? ""
        : {
            ...(heartbeat === undefined ? {} : { heartbeat }),
            ...(offers.receipts === undefined ? {} : { receipts: offers.receipts })
          }
    return pipe(
      m,
      Message.buildRouter(module, "", ResourceTypeModule, OperationTypeModule),
      Message.setType(socketType),
      Message.setSync(true),
      Message.fillBody(content)
    )
  })

/**
 * The receipts a handshake offers (R-SOCK-21), or undefined (Go's handshakes offer none).
 *
 * @category getters
 */
export const offeredReceipts = (handshake: Message.Message): ReceiptOffer | undefined =>
  decodeOffer(offered(handshake, "receipts"))

/** A field of a handshake's content, when the content is an object (Go's is `""`). */
const offered = (handshake: Message.Message, field: "heartbeat" | "receipts"): unknown => {
  const content = handshake.content as Record<string, unknown> | null
  return typeof content === "object" && content !== null ? content[field] : undefined
}

/**
 * The heartbeat interval a handshake offers, in milliseconds, or 0 (Go's handshakes offer none).
 *
 * @category getters
 */
export const offeredHeartbeat = (handshake: Message.Message): number => {
  const heartbeat = offered(handshake, "heartbeat")
  return typeof heartbeat === "number" && Number.isInteger(heartbeat) && heartbeat > 0 ? heartbeat : 0
}

/**
 * The interval two peers use: the longer of the two offers, or 0 (none) unless both offer one.
 *
 * @category getters
 */
export const agreedHeartbeat = (ours: number, theirs: number): number =>
  ours > 0 && theirs > 0 ? Math.max(ours, theirs) : 0

/**
 * Whether a message is a handshake (resource "module", operation "add").
 *
 * @category guards
 */
export const isHandshake = (message: Message.Message): boolean =>
  message.route.resource === ResourceTypeModule && message.route.operation === OperationTypeModule

/**
 * The JSON of a message this implementation builds itself, whose content is always JSON (an exchange,
 * a reason text); anything else is a defect.
 *
 * @category encoding
 */
export const controlJson = (message: Message.Message): string => Result.getOrThrow(encodeJsonResult(message))

/**
 * Reads the first message of a connection, which must be a handshake. Fails with
 * `SocketProtocolError` ("Handshake" when it is some other message) or `ConnectionClosed`.
 *
 * @category handshake
 */
export const readHandshake = (
  reader: MessageReader
): Effect.Effect<Message.Message, SocketProtocolError | ConnectionClosed> =>
  Effect.flatMap(reader.next, (texts) => {
    const peer = reader.connection.peer
    // The client sends nothing else before the answer, so a second payload here is a protocol error too.
    if (texts.length > 1) {
      return Effect.fail(
        new SocketProtocolError({ peer, reason: "Handshake", detail: "messages sent before the handshake answer" })
      )
    }
    const parsed = parseIncoming(peer, texts[0] as string)
    if (Result.isFailure(parsed)) return Effect.fail(parsed.failure)
    const message = parsed.success.message
    return isHandshake(message)
      ? Effect.succeed(message)
      : Effect.fail(
          new SocketProtocolError({
            peer,
            reason: "Handshake",
            detail: `expected a handshake (resource "module", operation "add"), got "${message.route.resource}"/"${message.route.operation}"`
          })
        )
  })

/**
 * Sends a handshake for `module` and waits for the server's answer to it: the module exchange, or
 * `HandshakeRejected` when the server answers with an error. Any other message before the answer, or an
 * answer that is not an exchange, fails with `SocketProtocolError`; a closed connection with
 * `ConnectionClosed`. Messages after the answer stay in the reader.
 *
 * @category handshake
 */
export const clientHandshake = (
  reader: MessageReader,
  encode: (json: string) => Uint8Array,
  module: string,
  socketType: string,
  offers: HandshakeOffers = {}
): Effect.Effect<ModuleExchange, HandshakeRejected | SocketProtocolError | ConnectionClosed> =>
  Effect.gen(function* () {
    const peer = reader.connection.peer
    const handshake = yield* makeHandshake(module, socketType, offers)
    yield* reader.connection.write(encode(controlJson(handshake)))
    const texts = yield* reader.next
    const parsed = parseIncoming(peer, texts[0] as string)
    reader.unread(texts.slice(1))
    if (Result.isFailure(parsed)) return yield* parsed.failure
    const answer = parsed.success.message
    if (answer.header.parentId !== handshake.header.id) {
      return yield* new SocketProtocolError({
        peer,
        reason: "Exchange",
        detail: `expected the answer to handshake ${handshake.header.id}, got message ${answer.header.id}`
      })
    }
    if (answer.route.operation === ResponseErrorOperation) {
      return yield* new HandshakeRejected({ module, peer, reason: String(answer.content) })
    }
    return yield* Effect.fromResult(decodeExchange(peer, answer.content))
  })
