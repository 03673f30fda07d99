/**
 * Messages out of a connection as properties (R-SOCK-1, R-SOCK-4, R-JSON-4, R-JSON-6): what a peer's
 * payload must be, and what the error says when it is not.
 *
 * - A peer whose stream ends inside a frame: the reader hands out every message before it, then fails
 *   with `SocketProtocolError` (`Frame`) naming the peer and saying the stream was truncated, not with
 *   a plain end of stream; a stream that ends between frames ends with `ConnectionClosed`.
 * - A payload whose header or route field has a type the wire format does not allow is a
 *   `SocketProtocolError` (`Message`) naming that field's path; written as `null` it is Go's zero value.
 * - A number beyond float64's range anywhere in the content is a `SocketProtocolError` naming its path.
 * - A payload nested deeper than `MaxJsonDepth` is a `SocketProtocolError` (`Json`) naming the limit,
 *   refused before it is parsed; brackets inside strings do not count.
 */
import { Effect, Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { encodeFrame, FrameHeaderBytes } from "../../src/contexts/socket/FrameCodec.ts"
import { encoderFor, makeDecoder } from "../../src/contexts/socket/Framing.ts"
import { MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { MessageReader, parseIncoming } from "../../src/contexts/socket/MessageReader.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import { MaxJsonDepth } from "../../src/model/JsonDepth.ts"
import { decodeJsonResult, encodeJsonResult } from "../../src/model/MessageJson.ts"
import { run } from "../socket/support.ts"
import { arbMessage } from "../support/arbitraries.ts"
import { fcParams } from "../support/fc.ts"

const jsonOf = (message: Parameters<typeof encodeJsonResult>[0]) => Result.getOrThrow(encodeJsonResult(message))

/** The stream cut at the given offsets, as the writes that carry it. */
const cut = (stream: Uint8Array, at: ReadonlyArray<number>): Array<Uint8Array> => {
  const offsets = [...new Set(at.map((n) => n % (stream.length + 1)))].sort((a, b) => a - b)
  return [...offsets, stream.length].map((to, i, all) => stream.subarray(i === 0 ? 0 : (all[i - 1] as number), to))
}

/** A connection of an in-memory network (the reader's), and the peer's end that writes to it. */
const memoryPair = Effect.gen(function* () {
  const network = new MemoryNetwork()
  const listener = yield* network.transport.listen(unix("reader"))
  const writer = yield* network.transport.connect(unix("reader"))
  return { writer, connection: yield* listener.accept }
})

describe("R-SOCK-1 R-SOCK-4 a peer's stream through the reader", () => {
  it("R-SOCK-1 R-SOCK-4 a stream ending inside a frame hands out the messages before it, then fails with SocketProtocolError Frame naming the peer and the truncation; one ending between frames ends with ConnectionClosed", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(arbMessage, { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat(), { nil: undefined }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (messages, truncateAt, cuts) =>
          run(
            Effect.gen(function* () {
              const { writer, connection } = yield* memoryPair
              const texts = messages.map(jsonOf)
              const frames = texts.map(encodeFrame)
              // Without `truncateAt` every frame is whole; with it, the last frame stops short.
              const lastFrame = frames[frames.length - 1] as Uint8Array
              const keep = truncateAt === undefined ? lastFrame.length : 1 + (truncateAt % (lastFrame.length - 1))
              const whole = truncateAt === undefined ? texts : texts.slice(0, -1)
              const stream = Buffer.concat([...frames.slice(0, -1), lastFrame.subarray(0, keep)])
              for (const write of cut(stream, cuts)) if (write.length > 0) yield* writer.write(write)
              yield* writer.close
              const reader = new MessageReader(connection, makeDecoder("frame", 1 << 20))
              const handed: Array<string> = []
              let read = yield* Effect.result(reader.next)
              while (Result.isSuccess(read)) {
                handed.push(...read.success)
                read = yield* Effect.result(reader.next)
              }
              const end = read.failure
              expect(handed).toEqual(whole)
              if (truncateAt === undefined) {
                expect(end._tag).toBe("ConnectionClosed")
              } else {
                expect(end._tag).toBe("SocketProtocolError")
                if (end._tag !== "SocketProtocolError") return
                expect(end.reason).toBe("Frame")
                expect(end.peer).toBe(connection.peer)
                expect(end.detail).toContain("Truncated")
              }
            })
          )
      ),
      fcParams(100)
    ))
})

describe("R-SOCK-1 R-SOCK-3 R-SOCK-4 a bad payload after good ones", () => {
  it("R-SOCK-1 R-SOCK-3 R-SOCK-4 a payload that is not UTF-8 fails the reader with SocketProtocolError Frame after every message before it, wherever the stream is cut (read together with it too), never with one after it, and for good", () =>
    fc.assert(
      fc.asyncProperty(
        fc.constantFrom("frame" as const, "ndjson" as const),
        fc.array(arbMessage, { maxLength: 3 }),
        fc.tuple(arbMessage, fc.nat()),
        fc.array(arbMessage, { minLength: 1, maxLength: 3 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (framing, before, [badMessage, at], after, cuts) =>
          run(
            Effect.gen(function* () {
              const { writer, connection } = yield* memoryPair
              const encode = encoderFor(framing)
              // 0xff never occurs in UTF-8; it replaces a byte of the payload, never the framing's own.
              const bad = Buffer.from(encode(jsonOf(badMessage)))
              const [from, length] =
                framing === "frame" ? [FrameHeaderBytes, bad.length - FrameHeaderBytes] : [0, bad.length - 1]
              bad[from + (at % length)] = 0xff
              const stream = Buffer.concat([
                ...before.map((message) => encode(jsonOf(message))),
                bad,
                ...after.map((message) => encode(jsonOf(message)))
              ])
              for (const write of cut(stream, cuts)) if (write.length > 0) yield* writer.write(write)
              yield* writer.close
              const reader = new MessageReader(connection, makeDecoder(framing, 1 << 20))
              const handed: Array<string> = []
              let read = yield* Effect.result(reader.next)
              while (Result.isSuccess(read)) {
                handed.push(...read.success)
                read = yield* Effect.result(reader.next)
              }
              expect(handed).toEqual(before.map(jsonOf))
              expect(read.failure).toMatchObject({
                _tag: "SocketProtocolError",
                reason: "Frame",
                peer: connection.peer
              })
              expect(read.failure.message).toContain("InvalidUtf8")
              const again = yield* Effect.result(reader.next)
              expect(Result.isFailure(again) && again.failure).toBe(read.failure)
            })
          )
      ),
      fcParams(200)
    ))
})

/** The header's and route's optional fields, by their wire names, and the type each must have. */
const typedFields = [
  ["header", "parent_msg_id", "string"],
  ["header", "resourceversion", "string"],
  ["header", "type", "string"],
  ["header", "sync", "boolean"],
  ["route", "source", "string"],
  ["route", "destination", "string"],
  ["route", "group", "string"],
  ["route", "operation", "string"],
  ["route", "resource", "string"]
] as const

/** Values of every JSON type, by type. */
const valueOfType = {
  string: fc.string({ maxLength: 5 }),
  boolean: fc.boolean(),
  number: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
  object: fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), { maxKeys: 2 }),
  array: fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 })
} as const

/** A field and a value for it: of a type it may not have, or null. */
const arbFieldValue = fc.constantFrom(...typedFields).chain(([part, field, type]) =>
  fc.record({
    part: fc.constant(part),
    field: fc.constant(field),
    type: fc.constant(type),
    value: fc.oneof(
      fc.constant(null),
      ...Object.entries(valueOfType)
        .filter(([other]) => other !== type)
        .map(([, arb]) => arb as fc.Arbitrary<unknown>)
    )
  })
)

describe("R-SOCK-4 R-JSON-4 a payload's field types", () => {
  it("R-SOCK-4 R-JSON-4 a header or route field of a type the format does not allow is a SocketProtocolError Message naming its path; null is Go's zero value", () =>
    fc.assert(
      fc.property(arbMessage, arbFieldValue, (message, { part, field, type, value }) => {
        const payload = JSON.parse(jsonOf(message))
        payload[part] = { ...(payload[part] ?? {}), [field]: value }
        const parsed = parseIncoming("peer-1", JSON.stringify(payload))
        if (value === null) {
          if (Result.isFailure(parsed)) throw new Error(`null ${part}.${field} was refused: ${parsed.failure.detail}`)
          const zero = type === "boolean" ? false : ""
          const read = parsed.success.message as unknown as Record<string, Record<string, unknown>>
          const name = { parent_msg_id: "parentId", resourceversion: "resourceVersion", sync: "sync", type: "type" }
          const key = part === "header" ? name[field as keyof typeof name] : field
          expect(read[part]?.[key]).toBe(zero)
          return
        }
        if (!Result.isFailure(parsed)) throw new Error(`${part}.${field} = ${JSON.stringify(value)} was accepted`)
        expect(parsed.failure.reason).toBe("Message")
        expect(parsed.failure.peer).toBe("peer-1")
        expect(parsed.failure.detail).toContain(`${part}.${field}`)
      }),
      fcParams(400)
    ))
})

/** A path into the content: object keys and array indices. */
const arbPath = fc.array(fc.oneof(fc.stringMatching(/^[a-z][a-z0-9]{0,4}$/), fc.integer({ min: 0, max: 3 })), {
  maxLength: 4
})

/** Number literals JSON allows and float64 cannot hold (JSON.parse reads them as ±Infinity). */
const arbOverflow = fc.oneof(
  fc.integer({ min: 309, max: 99_999 }).map((e) => `1e${e}`),
  fc.integer({ min: 309, max: 999 }).map((e) => `-2.5E+${e}`),
  fc.integer({ min: 310, max: 400 }).map((digits) => "9".repeat(digits))
)

describe("R-JSON-6 R-SOCK-4 numbers beyond float64's range", () => {
  it("R-JSON-6 R-SOCK-4 a number beyond float64's range anywhere in a payload's content (the content itself included) is a SocketProtocolError naming its path, and decodeJson's MessageDecodeError names the same path", () =>
    fc.assert(
      fc.property(arbMessage, arbPath, arbOverflow, fc.jsonValue({ maxDepth: 2 }), (message, path, literal, filler) => {
        // The content holds the filler beside a marker at `path`, which becomes the literal in the text.
        const marker = "\u0000overflow\u0000"
        let content: unknown = marker
        for (const step of [...path].reverse()) {
          content =
            typeof step === "number"
              ? [...Array.from({ length: step }, () => filler), content]
              : { [step]: content, ...(step === "zz" ? {} : { zz: filler }) }
        }
        const payload = { ...JSON.parse(jsonOf(message)), content }
        const text = JSON.stringify(payload).replace(JSON.stringify(marker), literal)
        const parsed = parseIncoming("peer-2", text)
        if (!Result.isFailure(parsed)) throw new Error(`${literal} at content${path} was accepted`)
        const expected = path.reduce<string>(
          (at, step) => (typeof step === "number" ? `${at}[${step}]` : `${at}.${step}`),
          "content"
        )
        expect(parsed.failure.reason).toBe("Message")
        expect(parsed.failure.peer).toBe("peer-2")
        // The path ends the detail: `content.a` must not pass for `content.ab`, nor `content.` for `content`.
        expect(parsed.failure.detail.endsWith(` at ${expected}`), parsed.failure.detail).toBe(true)
        const decoded = decodeJsonResult(text)
        expect(Result.isFailure(decoded) && decoded.failure.path).toBe(expected)
      }),
      fcParams(300)
    ))
})

describe("R-JSON-6 R-SOCK-4 nesting", () => {
  it("R-JSON-6 R-SOCK-4 a payload nested deeper than MaxJsonDepth is a SocketProtocolError Json naming the peer and the limit (decodeJson: a MessageDecodeError at path \"\"), brackets inside strings not counted; one at the limit is a message, or, with a number beyond float64's range at its bottom, refused naming that number's path", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: -3, max: 3 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        fc.constantFrom("", "[[{{", '}]\\"[{', "1e999"),
        (overLimit, kinds, inString) => {
          // The payload's object is one level; the content's brackets are the others.
          const levels = MaxJsonDepth - 1 + overLimit
          const kindAt = (i: number) => kinds[i % kinds.length] as boolean
          const opens = Array.from({ length: levels }, (_, i) => (kindAt(i) ? "[" : '{"k":')).join("")
          const closes = Array.from({ length: levels }, (_, i) => (kindAt(levels - 1 - i) ? "]" : "}")).join("")
          const bottom = inString === "1e999" ? inString : `"${inString}"`
          const text = `{"header":{"msg_id":"deep","timestamp":1},"route":{},"content":${opens}${bottom}${closes}}`
          const parsed = parseIncoming("peer-3", text)
          const decoded = decodeJsonResult(text)
          if (overLimit <= 0 && bottom === "1e999") {
            // Found however deep it lies (past a depth the walk goes on without recursion).
            const path = Array.from({ length: levels }, (_, i) => (kindAt(i) ? "[0]" : ".k")).join("")
            expect(Result.isFailure(parsed) && parsed.failure.detail.endsWith(`at content${path}`)).toBe(true)
            expect(Result.isFailure(decoded) && decoded.failure.path).toBe(`content${path}`)
            return
          }
          if (overLimit <= 0) {
            expect(Result.isSuccess(parsed), `${1 + levels} levels refused`).toBe(true)
            expect(Result.isSuccess(decoded), `${1 + levels} levels refused by decodeJson`).toBe(true)
            return
          }
          if (!Result.isFailure(parsed)) throw new Error(`${1 + levels} levels accepted`)
          expect(parsed.failure).toMatchObject({ _tag: "SocketProtocolError", peer: "peer-3", reason: "Json" })
          expect(parsed.failure.detail).toContain(String(MaxJsonDepth))
          expect(Result.isFailure(decoded) && decoded.failure).toMatchObject({ path: "" })
          expect(Result.isFailure(decoded) && decoded.failure.reason).toContain(String(MaxJsonDepth))
        }
      ),
      fcParams(20)
    ))

  it("R-JSON-6 R-SOCK-4 brackets side by side are no depth: content of more than MaxJsonDepth arrays and objects in one array is a message", () =>
    fc.assert(
      fc.property(fc.integer({ min: MaxJsonDepth - 2, max: 2 * MaxJsonDepth }), fc.boolean(), (siblings, objects) => {
        const content = `[${Array.from({ length: siblings }, () => (objects ? "{}" : "[]")).join(",")}]`
        const text = `{"header":{"msg_id":"wide","timestamp":1},"route":{},"content":${content}}`
        expect(Result.isSuccess(parseIncoming("peer-4", text))).toBe(true)
        expect(Result.isSuccess(decodeJsonResult(text))).toBe(true)
      }),
      fcParams(10)
    ))
})
