/**
 * The wire format against Go itself (R-JSON-1..4, R-JSON-6): Go's `encoding/json`, decoding into Go
 * beehive's `model.Message` and marshalling it again (`test/fixtures/gojson`), is the oracle.
 *
 * - Encoding: what `encodeJson` writes for any message is what Go writes for the message it reads
 *   from those bytes, byte for byte but for the spelling of three escapes (`sameSpelling`): a Go peer
 *   that forwards a message unchanged sends what we sent. And it is the message: the platform's own
 *   parser reads every string field back as it was.
 * - Decoding: a text built from a message's parts (every escape, whitespace, integer timestamps,
 *   `null`s, unknown keys, numbers of every form, content keys that Go reads as the same key) decodes
 *   here exactly when it decodes in Go, to a message that encodes to what Go writes for its own; and
 *   what Go writes, we read and write again the same.
 * - What differs from Go on purpose (SPEC's table of departures, R-JSON-4, and R-SOCK-4's bytes that
 *   are not UTF-8) is checked against Go too, so that the table cannot go stale.
 */
import { Result } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { decodeUtf8 } from "../../src/contexts/socket/FrameCodec.ts"
import { decodeJsonResult, encodeJsonResult } from "../../src/model/MessageJson.ts"
import { arbMessageOf } from "../support/arbitraries.ts"
import { fcParams } from "../support/fc.ts"
import { type GoJson, sameSpelling, startGoJson } from "../support/goJson.ts"

let go: GoJson
beforeAll(() => {
  go = startGoJson()
}, 120_000)
afterAll(() => go.close())

// Characters Go escapes or replaces, and their neighbours in code point order (U+E000, U+FFFD, an
// astral one) where UTF-16 order and UTF-8 order part.
const tricky = fc.constantFrom(
  ...'<>&"\\/\b\f\n\r\t\u0000\u001f\u007f\u0085\u2028\u2029\ud7ff\ue000\ufffd\uffff\ud800\udbff\udc00\udfffaé😀'.split(
    ""
  ),
  "😀"
)
const text = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 6 }),
  fc.string({ unit: "binary", maxLength: 6 }),
  fc.string({ unit: tricky, maxLength: 6 })
)
const number = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(-0, 1e21, 1e-6, 1e-7, 5e-324, Number.MAX_VALUE, 2 ** 53 + 2, 123456789012345680000)
)
const content: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    text,
    number,
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.uint8Array({ maxLength: 8 }),
    fc.date(),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(text, tie("value"), { maxKeys: 5 })
  )
})).value

const message = arbMessageOf({
  text,
  timestamp: fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }) },
    fc.constantFrom(-0, -0.5, 2 ** 53, -(2 ** 63)),
    fc.double()
  ),
  content
})

// JSON texts, written out piece by piece: strings with every kind of escape, numbers in every form.
const escapeSequence = fc.constantFrom(
  '\\"',
  "\\\\",
  "\\/",
  "\\b",
  "\\f",
  "\\n",
  "\\r",
  "\\t",
  "\\u0000",
  "\\u001F",
  "\\u00e9",
  "\\u2028",
  "\\ue000",
  "\\ufffd",
  "\\ud800",
  "\\uDBFF",
  "\\udc00",
  "\\ud83d\\ude00",
  "\\uDBFF\\uDFFF"
)
const rawCharacter = fc.constantFrom("a", "é", "😀", "<", "&", "\u2028", "\u007f", "\ue000", "\ufffd")
const jsonString = fc
  .array(fc.oneof(rawCharacter, escapeSequence), { maxLength: 5 })
  .map((parts) => `"${parts.join("")}"`)
const jsonNumber = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.constantFrom(
    "0",
    "-0",
    "1.0",
    "1E3",
    "1e+3",
    "1.5e-7",
    "0.000001",
    "1e21",
    "1e-400",
    "-1e-400",
    "2.5e-324",
    "9007199254740993",
    "123456789012345678901234567890",
    "1e400",
    "-1.7976931348623159e308"
  )
)
const space = fc.constantFrom("", " ", "\n", "\t", "\r\n ")
const jsonValue: fc.Arbitrary<string> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    jsonString,
    jsonNumber,
    fc.constantFrom("true", "false", "null"),
    fc.array(tie("value"), { maxLength: 3 }).map((values) => `[${values.join(",")}]`),
    // Keys distinct as written: Go keeps the last of a repeated key, and so does JSON.parse, but Go
    // also refuses a number it cannot hold before a later one replaces it (a departure, below).
    fc
      .uniqueArray(fc.tuple(jsonString, space, tie("value")), { maxLength: 4, selector: ([key]) => key })
      .map((members) => `{${members.map(([key, s, value]) => `${key}${s}:${s}${value}`).join(",")}}`)
  )
})).value
const member = (key: string, value: fc.Arbitrary<string>) =>
  fc.option(
    value.map((v) => `"${key}":${v}`),
    { nil: undefined, freq: 4 }
  )
// Now and then a value of another type (a number, an array, ...), which both refuse.
const stringOrNull = fc.oneof(
  { weight: 4, arbitrary: jsonString },
  { weight: 1, arbitrary: fc.constant("null") },
  { weight: 1, arbitrary: jsonValue }
)
/** A value that is neither null (a missing id or timestamp is a departure, below) nor a number. */
const notNullNorNumber = jsonValue.filter((v) => v !== "null" && !/^[-0-9]/.test(v))
const id = fc.oneof({ weight: 6, arbitrary: jsonString }, { weight: 1, arbitrary: notNullNorNumber })
// Integer literals: Go's int64 field takes no fraction or exponent (a departure, below).
const timestamp = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }).map(String) },
  { weight: 2, arbitrary: fc.constantFrom("0", "-0", "1700000000000") },
  { weight: 1, arbitrary: notNullNorNumber }
)
const members = (parts: ReadonlyArray<string | undefined>) => parts.filter((p) => p !== undefined).join(",")
const wireText = fc
  .record({
    id,
    timestamp,
    header: fc.tuple(
      member("parent_msg_id", stringOrNull),
      member("resourceversion", stringOrNull),
      member("sync", fc.oneof({ weight: 3, arbitrary: fc.constantFrom("true", "false", "null") }, jsonValue)),
      member("type", stringOrNull),
      member("unknown", jsonValue)
    ),
    route: fc.oneof(
      fc
        .tuple(...["source", "destination", "group", "operation", "resource"].map((key) => member(key, stringOrNull)))
        .map((parts) => `{${members(parts)}}`),
      fc.constant("null"),
      jsonValue
    ),
    content: jsonValue,
    unknown: member("unknown", jsonValue),
    space
  })
  .map(
    (t) =>
      `${t.space}{"header":{${members([`"msg_id":${t.id}`, `"timestamp":${t.timestamp}`, ...t.header])}},` +
      `${members([`"route":${t.route}`, `"content":${t.content}`, t.unknown])}}${t.space}`
  )

describe("the wire format against Go's encoding/json", () => {
  it("R-JSON-1 R-JSON-2 R-JSON-3 what encodeJson writes, Go reads and writes again byte for byte", async () => {
    await fc.assert(
      fc.asyncProperty(message, async (m) => {
        const encoded = encodeJsonResult(m)
        const { timestamp } = m.header
        // A timestamp Go's int64 cannot hold, as JSON writes integers exactly, is refused, and only that.
        if (!(Number.isFinite(timestamp) && Math.abs(timestamp) < 2 ** 53)) {
          expect(encoded).toEqual(Result.fail(expect.objectContaining({ path: "header.timestamp" })))
          return
        }
        const ours = Result.getOrThrow(encoded)
        const theirs = await go.remarshal(ours)
        expect(theirs).toEqual({ ok: true, json: expect.any(String) })
        if (theirs.ok) expect(sameSpelling(theirs.json)).toBe(sameSpelling(ours))
        // Go writing again what it read is no proof that it read what was meant: the platform's own
        // parser reads every string field back as it was (one holding a lone surrogate is written as
        // U+FFFD, as Go does), and a string content too.
        const read = JSON.parse(ours)
        const wire = { ...read.header, ...read.route }
        const { header: h, route: r } = m
        // Node's UTF-8 encoder replaces a lone surrogate with U+FFFD.
        const written = (s: string) => Buffer.from(s, "utf8").toString("utf8")
        for (const [key, value] of Object.entries({
          msg_id: h.id,
          parent_msg_id: h.parentId,
          resourceversion: h.resourceVersion,
          type: h.type,
          source: r.source,
          destination: r.destination,
          group: r.group,
          operation: r.operation,
          resource: r.resource
        }))
          expect(wire[key] ?? "", key).toBe(written(value))
        if (typeof m.content === "string") expect(read.content).toBe(written(m.content))
      }),
      fcParams(1000)
    )
  })

  it("R-JSON-4 R-JSON-6 a text decodes exactly when Go decodes it, to what Go writes again; what Go writes we write again", async () => {
    await fc.assert(
      fc.asyncProperty(wireText, async (text) => {
        const ours = decodeJsonResult(text)
        const theirs = await go.remarshal(text)
        expect({ decodes: Result.isSuccess(ours), reason: Result.isFailure(ours) ? ours.failure : undefined }).toEqual({
          decodes: theirs.ok,
          reason: theirs.ok ? undefined : expect.anything()
        })
        if (Result.isSuccess(ours) && theirs.ok) {
          expect(sameSpelling(Result.getOrThrow(encodeJsonResult(ours.success)))).toBe(sameSpelling(theirs.json))
          // What a Go peer sends on, we read and send on unchanged (byte for byte to Go ≥ 1.22's bytes).
          const forwarded = decodeJsonResult(theirs.json)
          expect(
            Result.isSuccess(forwarded) && sameSpelling(Result.getOrThrow(encodeJsonResult(forwarded.success)))
          ).toBe(sameSpelling(theirs.json))
        }
      }),
      fcParams(1000)
    )
  })

  const decodes = (text: string) => Result.isSuccess(decodeJsonResult(text))
  const wire = (header: string, content = "null") => `{"header":{${header}},"content":${content}}`

  it("R-JSON-4 departures from Go, as Go sees them: timestamps, required fields, letter case", async () => {
    const departures = [
      // Go's int64 field refuses a fraction or an exponent; a JSON number that is an integer is one here.
      { text: wire('"msg_id":"a","timestamp":1e3'), ours: true, go: false },
      { text: wire('"msg_id":"a","timestamp":1000.0'), ours: true, go: false },
      // Beyond 2^53 a JSON number is not an integer JavaScript can hold; Go's int64 goes on to 2^63.
      { text: wire('"msg_id":"a","timestamp":9007199254740993'), ours: false, go: true },
      // Go's zero values stand in for a missing (or null) id or timestamp; here both are required.
      { text: wire('"timestamp":1'), ours: false, go: true },
      { text: wire('"msg_id":"a"'), ours: false, go: true },
      { text: wire('"msg_id":null,"timestamp":1'), ours: false, go: true },
      { text: wire('"msg_id":"a","timestamp":null'), ours: false, go: true },
      // Go matches keys whatever their case; here they are matched exactly.
      { text: '{"Header":{"MSG_ID":"a","Timestamp":1},"content":null}', ours: false, go: true },
      // Go refuses a number beyond float64 as it reads it, even where a later duplicate key replaces it;
      // JSON.parse keeps only the last, which is a number it can hold.
      { text: wire('"msg_id":"a","timestamp":1', '{"n":1e400,"n":1}'), ours: true, go: false }
    ]
    for (const { text, ours, go: goDecodes } of departures) {
      expect({ text, ours: decodes(text), go: (await go.remarshal(text)).ok }).toEqual({ text, ours, go: goDecodes })
    }
  })

  it("R-SOCK-4 departures from Go in bytes: what is not UTF-8 is refused, not replaced; a byte order mark is no JSON, as in Go", async () => {
    const utf8 = (text: string) => Buffer.from(text, "utf8")
    const notUtf8 = Buffer.concat([
      utf8('{"header":{"msg_id":"'),
      Buffer.from([0xff]),
      utf8('","timestamp":1},"content":null}')
    ])
    // Go takes the byte (writing it again as `\ufffd`); a peer's payload of it ends its connection here.
    expect(await go.remarshal(notUtf8)).toEqual({ ok: true, json: expect.stringContaining('"msg_id":"\ufffd"') })
    expect(decodeUtf8(notUtf8)).toEqual(expect.objectContaining({ reason: "InvalidUtf8" }))
    const withMark = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(wire('"msg_id":"a","timestamp":1'))])
    expect((await go.remarshal(withMark)).ok).toBe(false)
    const kept = decodeUtf8(withMark)
    expect(typeof kept === "string" && decodes(kept)).toBe(false)
  })
})
