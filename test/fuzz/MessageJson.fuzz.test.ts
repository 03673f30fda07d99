import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MessageDecodeError } from "../../src/model/Errors.ts"
import { decodeJsonResult, decodeUnknownResult, encodeJsonResult } from "../../src/model/MessageJson.ts"
import { arbMessage } from "../support/arbitraries.ts"
import { fuzzCases, fuzzParams, fuzzTimeout } from "../support/fuzz.ts"

// Go cannot carry lone surrogates; the encoder replaces them (R-JSON-2), so compare after that.
const wellFormed = (s: string) =>
  s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd")
const normalize = (value: unknown): unknown =>
  typeof value === "string"
    ? wellFormed(value)
    : Array.isArray(value)
      ? value.map(normalize)
      : value !== null && typeof value === "object"
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [wellFormed(k), normalize(v)]))
        : value

const decodeNeverThrows = (input: string) => {
  const r = decodeJsonResult(input)
  if (Result.isFailure(r)) {
    expect(r.failure).toBeInstanceOf(MessageDecodeError)
    expect(typeof r.failure.path).toBe("string")
  } else {
    // Whatever decodes is a message that encodes, and decodes back to itself.
    const again = decodeJsonResult(Result.getOrThrow(encodeJsonResult(r.success)))
    expect(Result.getOrThrow(again)).toEqual(normalize(r.success))
  }
}

// FUZZ_CASES sets every property's cases (each one's default otherwise); the time limit grows with it.
const timeout = fuzzTimeout(fuzzCases(2000))

describe("MessageJson fuzz", () => {
  it(
    "R-JSON-5 decodeJson(encodeJson(m)) is m on generated messages",
    () => {
      fc.assert(
        fc.property(arbMessage, (m) => {
          const json = Result.getOrThrow(encodeJsonResult(m))
          expect(Result.getOrThrow(decodeJsonResult(json))).toEqual(normalize(m))
        }),
        fuzzParams(1000)
      )
    },
    timeout
  )

  it(
    "R-JSON-2 encoded text never holds raw HTML characters, U+2028/9 or lone surrogates, and parses back",
    () => {
      fc.assert(
        fc.property(arbMessage, (m) => {
          const json = Result.getOrThrow(encodeJsonResult(m))
          expect(json).not.toMatch(/[<>&\u2028\u2029]/)
          expect(wellFormed(json)).toBe(json)
          expect(JSON.parse(json).content).toEqual(normalize(m.content))
        }),
        fuzzParams(500)
      )
    },
    timeout
  )

  it(
    "R-JSON-4 random text is a typed error or a valid message, never a throw",
    () => {
      fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), decodeNeverThrows), fuzzParams(2000))
    },
    timeout
  )

  it(
    "R-JSON-4 random JSON values are a typed error or a valid message, never a throw",
    () => {
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
          const r = decodeUnknownResult(value)
          if (Result.isFailure(r)) expect(r.failure).toBeInstanceOf(MessageDecodeError)
          decodeNeverThrows(JSON.stringify(value))
        }),
        fuzzParams(1000)
      )
    },
    timeout
  )

  // Found by the long campaign (FUZZ_CASES=100000): a mutation that left a number literal beyond
  // float64's range decoded to Infinity, a message that then could not be encoded.
  it(
    "R-JSON-4 R-JSON-6 numbers beyond float64's range are a typed error, as Go refuses them",
    () => {
      fc.assert(
        fc.property(arbMessage, fc.integer({ min: 309, max: 100_000 }), fc.boolean(), (m, exponent, negative) => {
          const json = Result.getOrThrow(encodeJsonResult(m))
          const at = json.lastIndexOf('"content":')
          decodeNeverThrows(`${json.slice(0, at)}"content":[1,${negative ? "-" : ""}9e${exponent}]}`)
          const r = decodeJsonResult(`${json.slice(0, at)}"content":{"n":${negative ? "-" : ""}1e${exponent}}}`)
          expect(Result.isFailure(r) && r.failure.path).toBe("content.n")
        }),
        fuzzParams(200)
      )
    },
    timeout
  )

  it(
    "R-JSON-4 mutated valid messages are a typed error or a valid message, never a throw",
    () => {
      const mutation = fc.record({
        at: fc.nat(),
        kind: fc.constantFrom("insert", "delete", "replace", "truncate", "swapKeys"),
        text: fc.constantFrom('"', "{", "}", ",", ":", "null", "1.5", "9e999", "[]", "-", "\\", "true", '"x"', "\u0000")
      })
      fc.assert(
        fc.property(arbMessage, fc.array(mutation, { minLength: 1, maxLength: 4 }), (m, mutations) => {
          let json = Result.getOrThrow(encodeJsonResult(m))
          for (const { at, kind, text: piece } of mutations) {
            const i = at % (json.length + 1)
            if (kind === "insert") json = json.slice(0, i) + piece + json.slice(i)
            else if (kind === "delete") json = json.slice(0, i) + json.slice(i + piece.length)
            else if (kind === "replace") json = json.slice(0, i) + piece + json.slice(i + piece.length)
            else if (kind === "truncate") json = json.slice(0, i)
            else json = json.replace('"timestamp"', '"msg_id"')
          }
          decodeNeverThrows(json)
        }),
        fuzzParams(2000)
      )
    },
    timeout
  )
})
