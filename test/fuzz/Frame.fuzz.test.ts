/**
 * Fuzzing of the socket context's input side: the frame and line decoders, message parsing, and the
 * server handshake, fed random bytes, mutated valid frames, truncations, wrong magic or version,
 * lengths over the limit, invalid JSON and valid JSON of the wrong shape. Every case must end in a
 * typed error or valid messages, never an exception.
 *
 * `FUZZ_CASES` sets the cases per property (default 1500; the long campaign is FUZZ_CASES=1000000;
 * test/support/fuzz.ts scales the time limits with it).
 */
import { Cause, Effect, Exit, Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { encodeFrame, FrameDecoder } from "../../src/contexts/socket/FrameCodec.ts"
import { encodeBatch, type Framing, makeDecoder } from "../../src/contexts/socket/Framing.ts"
import { readHandshake } from "../../src/contexts/socket/Handshake.ts"
import { LineDecoder } from "../../src/contexts/socket/LineCodec.ts"
import { MessageReader, parseIncoming } from "../../src/contexts/socket/MessageReader.ts"
import { PacketDecoder } from "../../src/contexts/socket/PacketCodec.ts"
import type { Connection } from "../../src/contexts/socket/Transport.ts"
import * as Message from "../../src/model/Message.ts"
import { decodeUnknownResult, decodeWirePlain, encodeJsonResult } from "../../src/model/MessageJson.ts"
import { ConnectionClosed, FrameDecodeError, SocketProtocolError } from "../../src/model/SocketErrors.ts"
import { arbMessage } from "../support/arbitraries.ts"
import { fuzzCases, fuzzParams, fuzzTimeout } from "../support/fuzz.ts"

const timeout = fuzzTimeout(fuzzCases(1500))

/** Cuts bytes at the given points (sorted, deduplicated, in range). */
const cut = (bytes: Uint8Array, points: ReadonlyArray<number>): Array<Uint8Array> => {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let start = 0
  for (const p of at) {
    chunks.push(bytes.subarray(start, p))
    start = p
  }
  chunks.push(bytes.subarray(start))
  return chunks
}

const feedAll = (framing: Framing, chunks: ReadonlyArray<Uint8Array>, max?: number) => {
  const decoder = framing === "frame" ? new FrameDecoder(max) : new LineDecoder(max)
  const texts: Array<string> = []
  let error: FrameDecodeError | undefined
  for (const chunk of chunks) {
    const e = decoder.feed(chunk, (t) => texts.push(t))
    if (e !== undefined) {
      error = e
      break
    }
  }
  error ??= decoder.end((t) => texts.push(t))
  return { texts, error }
}

const jsonOf = (m: Parameters<typeof encodeJsonResult>[0]) => Result.getOrThrow(encodeJsonResult(m))

/** A connection that yields the given chunks, then ends. */
const scripted = (chunks: ReadonlyArray<Uint8Array>): Connection => {
  let served = false
  return {
    peer: "fuzz",
    read: Effect.suspend(() => {
      if (served) return Effect.fail(new ConnectionClosed({ peer: "fuzz", detail: "end" }))
      served = true
      return Effect.succeed(chunks)
    }),
    write: () => Effect.void,
    close: Effect.void
  }
}

const handshakeJson =
  '{"header":{"msg_id":"hs-1","timestamp":1,"sync":true,"type":"unix"},"route":{"source":"X","operation":"add","resource":"module"},"content":""}'

/** Bytes: valid frames and lines, then mutated, truncated or random. */
const arbFrameStream = fc
  .tuple(fc.array(arbMessage, { minLength: 1, maxLength: 4 }), fc.constantFrom<Framing>("frame", "ndjson"))
  .map(([messages, framing]) => ({ framing, bytes: encodeBatch(framing, messages.map(jsonOf)) }))

const arbMutation = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    value: fc.uint8Array({ minLength: 1, maxLength: 8 })
  }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) })
)

type Mutation = typeof arbMutation extends fc.Arbitrary<infer M> ? M : never

const mutate = (bytes: Uint8Array, mutations: ReadonlyArray<Mutation>): Uint8Array => {
  let out = Buffer.from(bytes)
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % out.length
    if (m.kind === "flip" && out.length > 0) out[at] = m.value
    else if (m.kind === "truncate") out = out.subarray(0, at)
    else if (m.kind === "insert") out = Buffer.concat([out.subarray(0, at), m.value, out.subarray(at)])
    else if (m.kind === "delete") out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.length)])
  }
  return out
}

/** Input for the handshake and parser: anything from random bytes to almost-valid handshakes. */
const arbHostile: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.constantFrom(encodeFrame(handshakeJson), Buffer.from(`${handshakeJson}\n`)),
  fc
    .tuple(
      fc.constantFrom(encodeFrame(handshakeJson), Buffer.from(`${handshakeJson}\n`)),
      fc.array(arbMutation, { minLength: 1, maxLength: 3 })
    )
    .map(([bytes, mutations]) => mutate(bytes, mutations)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => encodeFrame(JSON.stringify(v) ?? "null")),
  fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(`${JSON.stringify(v)}\n`)),
  fc
    .record(
      {
        header: fc.record(
          { msg_id: fc.oneof(fc.string(), fc.integer()), timestamp: fc.oneof(fc.integer(), fc.string()) },
          { requiredKeys: [] }
        ),
        route: fc.anything()
      },
      { requiredKeys: [] }
    )
    .map((v) => encodeFrame(JSON.stringify(v)))
)

/** Parsed payloads: messages, near-messages with fields of the wrong type, and any JSON. */
const arbParsed: fc.Arbitrary<unknown> = fc.oneof(
  arbMessage.map((m) => JSON.parse(jsonOf(m))),
  fc.record(
    {
      header: fc.oneof(
        fc.record(
          {
            msg_id: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
            parent_msg_id: fc.oneof(fc.string(), fc.constant(null), fc.integer()),
            timestamp: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(2 ** 60)),
            resourceversion: fc.oneof(fc.string(), fc.constant(null), fc.boolean()),
            sync: fc.oneof(fc.boolean(), fc.constant(null), fc.string()),
            type: fc.oneof(fc.string(), fc.constant(null), fc.array(fc.string()))
          },
          { requiredKeys: [] }
        ),
        fc.array(fc.nat()),
        fc.constant(null)
      ),
      route: fc.oneof(
        fc.constant(null),
        fc.array(fc.string()),
        fc.record(
          {
            source: fc.oneof(fc.string(), fc.constant(null), fc.integer()),
            destination: fc.oneof(fc.string(), fc.constant(null)),
            group: fc.string(),
            operation: fc.oneof(fc.string(), fc.boolean()),
            resource: fc.string()
          },
          { requiredKeys: [] }
        )
      ),
      content: fc.jsonValue({ maxDepth: 2 })
    },
    { requiredKeys: [] }
  ),
  fc.jsonValue({ maxDepth: 3 })
)

describe("frame fuzzing", () => {
  it(
    "R-SOCK-4 the plain wire decoder accepts nothing the Schema rejects, and builds the same message",
    () => {
      fc.assert(
        fc.property(arbParsed, (parsed) => {
          const plain = decodeWirePlain(parsed)
          const schema = decodeUnknownResult(parsed)
          if (plain !== undefined) expect(Result.getOrThrow(schema)).toEqual(plain)
          if (Result.isSuccess(schema) && plain === undefined) throw new Error("a plain message was left to the Schema")
        }),
        fuzzParams(1500)
      )
    },
    timeout
  )

  it(
    "R-SOCK-8 a message is written with its destination, as encodeJson writes it",
    () => {
      fc.assert(
        fc.property(arbMessage, fc.string({ maxLength: 8 }), (m, destination) => {
          expect(encodeJsonResult(m, destination)).toEqual(encodeJsonResult(Message.setDestination(m, destination)))
        }),
        fuzzParams(1500)
      )
    },
    timeout
  )

  it(
    "R-SOCK-1 R-SOCK-3 valid frames and lines decode to their messages whatever the read boundaries",
    () => {
      fc.assert(
        fc.property(arbFrameStream, fc.array(fc.nat(), { maxLength: 8 }), ({ framing, bytes }, points) => {
          const whole = feedAll(framing, [bytes])
          const split = feedAll(framing, cut(bytes, points))
          expect(split).toEqual(whole)
          expect(whole.error).toBeUndefined()
          for (const text of whole.texts) expect(Result.isSuccess(parseIncoming("fuzz", text))).toBe(true)
        }),
        fuzzParams(1500)
      )
    },
    timeout
  )

  it(
    "R-SOCK-4 random, mutated and truncated streams end in a typed error or valid messages, never an exception",
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.record({
              framing: fc.constantFrom<Framing>("frame", "ndjson"),
              bytes: fc.uint8Array({ maxLength: 200 })
            }),
            fc
              .tuple(arbFrameStream, fc.array(arbMutation, { minLength: 1, maxLength: 4 }))
              .map(([s, mutations]) => ({ framing: s.framing, bytes: mutate(s.bytes, mutations) }))
          ),
          fc.array(fc.nat(), { maxLength: 6 }),
          ({ framing, bytes }, points) => {
            const { texts, error } = feedAll(framing, cut(bytes, points), 4096)
            if (error !== undefined) expect(error).toBeInstanceOf(FrameDecodeError)
            for (const text of texts) {
              const parsed = parseIncoming("fuzz", text)
              if (Result.isFailure(parsed)) {
                expect(parsed.failure).toBeInstanceOf(SocketProtocolError)
                expect(["Json", "Message"]).toContain(parsed.failure.reason)
              }
            }
          }
        ),
        fuzzParams(1500)
      )
    },
    timeout
  )

  it(
    "R-SOCK-4 a decoder that failed stays failed: every later feed and its end give the same error and hand on nothing, valid bytes too",
    () => {
      fc.assert(
        fc.property(
          fc.constantFrom<Framing | "auto">("frame", "ndjson", "packet", "auto"),
          fc.array(fc.uint8Array({ maxLength: 60 }), { minLength: 1, maxLength: 8 }),
          arbFrameStream,
          fc.array(fc.nat(), { maxLength: 4 }),
          (framing, hostile, { bytes: valid }, points) => {
            // Small limits, so that every framing fails somewhere (too large, empty, bad magic, ...).
            const decoder = framing === "packet" ? new PacketDecoder(16) : makeDecoder(framing, 16)
            const texts: Array<string> = []
            const onText = (text: string) => texts.push(text)
            let failure: FrameDecodeError | undefined
            for (const chunk of hostile) {
              failure = decoder.feed(chunk, onText)
              if (failure !== undefined) break
            }
            // Else an empty chunk (a packet's `Empty`, nothing for a stream), then the end (a stream cut
            // inside a frame or line): most inputs end failed one way or another.
            failure ??= decoder.feed(new Uint8Array(0), onText) ?? decoder.end(onText)
            if (failure === undefined) return
            const before = texts.length
            decoder.setLimit(1 << 20)
            for (const chunk of cut(valid, points)) expect(decoder.feed(chunk, onText)).toBe(failure)
            expect(decoder.end(onText)).toBe(failure)
            expect(decoder.end(onText)).toBe(failure)
            expect(texts).toHaveLength(before)
          }
        ),
        fuzzParams(1500)
      )
    },
    timeout
  )

  it(
    "R-SOCK-2 lengths over the limit fail from the header alone, naming the length claimed",
    () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1 << 20 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (max, length) => {
          const header = Buffer.from(encodeFrame("x").subarray(0, 12))
          header.writeUInt32BE(length, 8)
          const decoder = new FrameDecoder(max)
          const error = decoder.feed(header, () => {})
          if (length === 0) expect(error).toMatchObject({ reason: "Empty" })
          else if (length > max) expect(error).toMatchObject({ reason: "TooLarge" })
          else expect(error).toBeUndefined()
          // A refusal says what the header claimed (and the maximum it exceeds).
          if (error !== undefined) expect(error.detail).toContain(`${length}`)
          if (length > max) expect(error?.detail).toContain(`${max}`)
        }),
        fuzzParams(1500)
      )
    },
    timeout
  )

  it(
    "R-SOCK-4 R-SOCK-5 the handshake reader ends every input with a handshake or a typed error",
    () => {
      fc.assert(
        fc.property(
          arbHostile,
          fc.array(fc.nat(), { maxLength: 4 }),
          fc.constantFrom("frame", "ndjson", "auto") as fc.Arbitrary<"frame" | "ndjson" | "auto">,
          (bytes, points, framing) => {
            const reader = new MessageReader(scripted(cut(bytes, points)), makeDecoder(framing, 4096))
            const exit = Effect.runSyncExit(readHandshake(reader))
            if (Exit.isSuccess(exit)) {
              expect(exit.value.route).toMatchObject({ resource: "module", operation: "add" })
            } else {
              expect(Cause.hasDies(exit.cause)).toBe(false)
              const error = exit.cause.reasons.find((r) => r._tag === "Fail")
              expect(error?._tag === "Fail" && error.error._tag).toMatch(/^(SocketProtocolError|ConnectionClosed)$/)
            }
          }
        ),
        fuzzParams(1500)
      )
    },
    timeout
  )
})
