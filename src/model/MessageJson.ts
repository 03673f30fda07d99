/**
 * The wire form of a message: Go beehive's JSON (`msg_id`, `parent_msg_id`, `resourceversion`, ...),
 * written byte for byte as Go's `encoding/json` writes it and read back through a Schema that names
 * the offending path when the input is not a message.
 *
 * @since 0.1.0
 */
import { Effect, Exit, Result, Schema, SchemaIssue } from "effect"
import { MessageDecodeError, MessageEncodeError } from "./Errors.ts"
import { quote, stringify } from "./GoJson.ts"
import { hasNonFiniteNumber, jsonDepthExceeds, MaxJsonDepth, nonFiniteNumberPath } from "./JsonDepth.ts"
import { type Message, make } from "./Message.ts"

const OptionalString = Schema.optionalKey(Schema.NullOr(Schema.String))

/**
 * The wire shape, as Go reads it: `header.msg_id` (string) and `header.timestamp` (integer) are
 * required, every other field may be absent or null (Go's zero value), unknown keys are ignored.
 *
 * @category schemas
 */
export const WireMessage = Schema.Struct({
  header: Schema.Struct({
    msg_id: Schema.String,
    parent_msg_id: OptionalString,
    timestamp: Schema.Int,
    resourceversion: OptionalString,
    sync: Schema.optionalKey(Schema.NullOr(Schema.Boolean)),
    type: OptionalString
  }),
  route: Schema.optionalKey(
    Schema.NullOr(
      Schema.Struct({
        source: OptionalString,
        destination: OptionalString,
        group: OptionalString,
        operation: OptionalString,
        resource: OptionalString
      })
    )
  ),
  content: Schema.optionalKey(Schema.Unknown)
})

/** The wire shape's TypeScript type. @category models */
export type WireMessage = typeof WireMessage.Type

const decodeWire = Schema.decodeUnknownExit(WireMessage)
const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

const fromWire = (w: WireMessage): Message =>
  make({
    header: {
      id: w.header.msg_id,
      parentId: w.header.parent_msg_id ?? "",
      timestamp: w.header.timestamp || 0,
      resourceVersion: w.header.resourceversion ?? "",
      sync: w.header.sync ?? false,
      type: w.header.type ?? ""
    },
    route: {
      source: w.route?.source ?? "",
      destination: w.route?.destination ?? "",
      group: w.route?.group ?? "",
      operation: w.route?.operation ?? "",
      resource: w.route?.resource ?? ""
    },
    content: w.content
  })

const toDecodeError = (issue: SchemaIssue.Issue): MessageDecodeError => {
  const first = formatIssue(issue).issues[0]
  const path = (first?.path ?? []).map(String).join(".")
  return new MessageDecodeError({ path, reason: first?.message ?? "invalid message" })
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const optionalString = (value: unknown): value is string | null | undefined =>
  value === undefined || value === null || typeof value === "string"

/**
 * The message for a parsed payload that has the wire shape in its plainest form (every field of the
 * right type), or `undefined` to let the Schema (`decodeUnknownResult`) decide and explain. It accepts
 * nothing the Schema rejects, and builds the same message; it exists because the Schema's generic
 * walk costs more than the rest of a message's way through a connection (a socket or NATS).
 *
 * @category decoding
 */
export const decodeWirePlain = (parsed: unknown): Message | undefined => {
  if (!isObject(parsed) || !isObject(parsed.header)) return undefined
  const h = parsed.header
  const route = parsed.route
  // Number.isSafeInteger is false for anything that is not a number.
  if (typeof h.msg_id !== "string" || !Number.isSafeInteger(h.timestamp)) return undefined
  if (!optionalString(h.parent_msg_id) || !optionalString(h.resourceversion) || !optionalString(h.type))
    return undefined
  if (!(h.sync === undefined || h.sync === null || typeof h.sync === "boolean")) return undefined
  if (route !== undefined && route !== null) {
    if (!isObject(route)) return undefined
    const { source, destination, group, operation, resource } = route
    if (
      !optionalString(source) ||
      !optionalString(destination) ||
      !optionalString(group) ||
      !optionalString(operation) ||
      !optionalString(resource)
    )
      return undefined
  }
  const r = isObject(route) ? route : {}
  return make({
    header: {
      id: h.msg_id,
      parentId: (h.parent_msg_id as string | null | undefined) ?? "",
      // -0 is 0, as in Go's int64.
      timestamp: (h.timestamp as number) || 0,
      resourceVersion: (h.resourceversion as string | null | undefined) ?? "",
      sync: (h.sync as boolean | null | undefined) ?? false,
      type: (h.type as string | null | undefined) ?? ""
    },
    route: {
      source: (r.source as string | null | undefined) ?? "",
      destination: (r.destination as string | null | undefined) ?? "",
      group: (r.group as string | null | undefined) ?? "",
      operation: (r.operation as string | null | undefined) ?? "",
      resource: (r.resource as string | null | undefined) ?? ""
    },
    content: parsed.content
  })
}

/**
 * Validates an already parsed JSON value as a wire message. Never throws.
 *
 * @category decoding
 */
export const decodeUnknownResult = (input: unknown): Result.Result<Message, MessageDecodeError> => {
  const exit = decodeWire(input)
  if (Exit.isSuccess(exit)) return Result.succeed(fromWire(exit.value))
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  return Result.fail(
    error && Schema.isSchemaError(error.error)
      ? toDecodeError(error.error.issue)
      : new MessageDecodeError({ path: "", reason: "invalid message" })
  )
}

/**
 * Where a parsed payload's content holds a number beyond float64's range (which `JSON.parse` reads as
 * ±Infinity and Go's decoder refuses), as a path such as `content.n` or `content[1]`; undefined if
 * nowhere. Only the content is looked at: the other fields Go reads are strings, booleans and an
 * integer, each refused on its own when it is not one, and Go does not read unknown keys at all.
 *
 * @category decoding
 */
export const contentOutOfRange = (parsed: unknown): string | undefined => {
  if (!isObject(parsed) || !hasNonFiniteNumber(parsed.content)) return undefined
  const path = nonFiniteNumberPath(parsed.content) ?? ""
  return path === "" || path.startsWith("[") ? `content${path}` : `content.${path}`
}

/**
 * Parses Go beehive JSON text into a `Message`, synchronously. Never throws.
 *
 * @category decoding
 */
export const decodeJsonResult = (text: string): Result.Result<Message, MessageDecodeError> => {
  if (jsonDepthExceeds(text))
    return Result.fail(new MessageDecodeError({ path: "", reason: `nested deeper than ${MaxJsonDepth} levels` }))
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    return Result.fail(new MessageDecodeError({ path: "", reason: `invalid JSON: ${(e as Error).message}` }))
  }
  const outOfRange = contentOutOfRange(parsed)
  if (outOfRange !== undefined)
    return Result.fail(new MessageDecodeError({ path: outOfRange, reason: "number out of float64's range" }))
  const plain = decodeWirePlain(parsed)
  return plain === undefined ? decodeUnknownResult(parsed) : Result.succeed(plain)
}

/**
 * Parses Go beehive JSON text into a `Message`. Fails with `MessageDecodeError` naming the bad path
 * (`header.timestamp`, `route.source`, "" for text that is not JSON or not an object).
 *
 * @category decoding
 */
export const decodeJson = (text: string): Effect.Effect<Message, MessageDecodeError> =>
  Effect.suspend(() => Effect.fromResult(decodeJsonResult(text)))

const field = (key: string, value: string) => `,"${key}":${quote(value)}`

/**
 * The first header or route field that is not of its type, which only a caller unchecked by types can
 * write (the operations check a message's shape, not each field): writing it would change it ("5",
 * "undefined") or throw (a symbol). Field by field, allocating nothing: this is on every send to
 * another process.
 */
const miswrittenField = (message: Message, destination: unknown): MessageEncodeError | undefined => {
  const h: Record<keyof Message["header"], unknown> = message.header
  const r: Record<keyof Message["route"], unknown> = message.route
  const key =
    typeof h.id !== "string"
      ? "id"
      : typeof h.parentId !== "string"
        ? "parentId"
        : typeof h.timestamp !== "number"
          ? "timestamp"
          : typeof h.resourceVersion !== "string"
            ? "resourceVersion"
            : typeof h.sync !== "boolean"
              ? "sync"
              : typeof h.type !== "string"
                ? "type"
                : typeof r.source !== "string"
                  ? "source"
                  : typeof destination !== "string"
                    ? "destination"
                    : typeof r.group !== "string"
                      ? "group"
                      : typeof r.operation !== "string"
                        ? "operation"
                        : typeof r.resource !== "string"
                          ? "resource"
                          : undefined
  if (key === undefined) return undefined
  const value = key in h ? h[key as keyof typeof h] : key === "destination" ? destination : r[key as keyof typeof r]
  const expected = key === "timestamp" ? "a number" : key === "sync" ? "a boolean" : "a string"
  return new MessageEncodeError({
    path: `${key in h ? "header" : "route"}.${key}`,
    reason: `expected ${expected}, got ${value === null ? "null" : typeof value}`
  })
}

/**
 * The JSON Go's `json.Marshal` writes for the same message, synchronously (no trailing newline; Go's
 * `json.Encoder` adds one). Fails when the content holds values JSON cannot carry, the timestamp is no
 * integer within ±(2^53 - 1) once its fraction is dropped, or a field is not of its type. With
 * `destination`, the route's destination is written as that (what `setDestination` then encoding
 * would give, without building the intermediate message: the socket context encodes every message it
 * writes so).
 *
 * @category encoding
 */
export const encodeJsonResult = (
  message: Message,
  destination: string = message.route.destination
): Result.Result<string, MessageEncodeError> => {
  const { header: h, route: r } = message
  const miswritten = miswrittenField(message, destination)
  if (miswritten !== undefined) return Result.fail(miswritten)
  // Go's int64: a fraction is dropped and -0 is 0 (String writes it so); NaN, the infinities and what
  // lies past 2^53 (where a number is no longer the integer it reads as) have no such form.
  const timestamp = Math.trunc(h.timestamp)
  if (!Number.isSafeInteger(timestamp))
    return Result.fail(
      new MessageEncodeError({ path: "header.timestamp", reason: `not an integer within ±(2^53 - 1): ${h.timestamp}` })
    )
  const content = stringify(message.content)
  if (Result.isFailure(content)) return content
  let header = `{"msg_id":${quote(h.id)}`
  if (h.parentId !== "") header += field("parent_msg_id", h.parentId)
  header += `,"timestamp":${String(timestamp)}`
  if (h.resourceVersion !== "") header += field("resourceversion", h.resourceVersion)
  if (h.sync) header += `,"sync":true`
  if (h.type !== "") header += field("type", h.type)
  let route = ""
  if (r.source !== "") route += field("source", r.source)
  if (destination !== "") route += field("destination", destination)
  if (r.group !== "") route += field("group", r.group)
  if (r.operation !== "") route += field("operation", r.operation)
  if (r.resource !== "") route += field("resource", r.resource)
  return Result.succeed(`{"header":${header}},"route":{${route.slice(1)}},"content":${content.success}}`)
}

/**
 * The JSON Go's `json.Marshal` writes for the same message: keys `msg_id`, `parent_msg_id` (omitted
 * when empty), `timestamp`, `resourceversion`/`sync`/`type` (omitted when empty), `route` always
 * present with empty fields omitted, `content` always present (`null` when absent), in Go's order.
 * Fails with `MessageEncodeError` when the content cannot be written as JSON, the timestamp is no
 * integer within ±(2^53 - 1) once its fraction is dropped, or a field is not of its type (its path named).
 *
 * @category encoding
 */
export const encodeJson = (message: Message): Effect.Effect<string, MessageEncodeError> =>
  Effect.suspend(() => Effect.fromResult(encodeJsonResult(message)))
