/**
 * NDJSON lines as properties (R-SOCK-3), the codec taken alone, at the maximum's boundary: lines of
 * UTF-8 text whose longest is exactly the maximum in bytes are all delivered, in order, wherever the
 * stream is cut (every single cut is tried, so a read that ends just before a newline, with a whole
 * line of the maximum waiting, is among them); a line one byte longer fails with `TooLarge` naming the
 * maximum, after the lines before it, wherever the stream is cut. Ending the stream twice delivers
 * its last line once.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { LineDecoder } from "../../src/contexts/socket/LineCodec.ts"
import type { FrameDecodeError } from "../../src/model/SocketErrors.ts"
import { fcParams } from "../support/fc.ts"

/** A line's text: one- to four-byte characters, never blank, no newline or carriage return. */
const arbLine = fc
  .array(fc.constantFrom("a", "{", " ", "é", "€", "😀"), { minLength: 1, maxLength: 30 })
  .map((chars) => `x${chars.join("")}`)

/** A blank line: nothing, or only spaces and tabs; accepted and skipped. */
const arbBlank = fc.array(fc.constantFrom(" ", "\t"), { maxLength: 3 }).map((chars) => chars.join(""))

/** A line as written: a text or a blank, ended by `\n` or by `\r\n`. */
const arbWritten = fc.record({
  text: fc.oneof({ weight: 3, arbitrary: arbLine }, { weight: 1, arbitrary: arbBlank }),
  crlf: fc.boolean()
})

/** Feeds the reads, then ends the stream; what was delivered and the first error. */
const decodeAll = (max: number, reads: ReadonlyArray<Uint8Array>) => {
  const decoder = new LineDecoder(max)
  const texts: Array<string> = []
  const onText = (text: string) => texts.push(text)
  for (const read of reads) {
    const error = decoder.feed(read, onText)
    if (error !== undefined) return { texts, error }
  }
  const error = decoder.end(onText) as FrameDecodeError | undefined
  // Ending again delivers nothing more and fails as the first end did (the decoder's contract).
  const delivered = texts.length
  const again = decoder.end(onText)
  if (texts.length !== delivered || again !== error || decoder.hasPartial)
    throw new Error(`a second end delivered ${texts.length - delivered} more, or failed otherwise`)
  return { texts, error }
}

/** Every way to cut the stream in two, and the stream whole. */
const everySingleCut = (stream: Uint8Array): Array<Array<Uint8Array>> => [
  [stream],
  ...Array.from({ length: stream.length - 1 }, (_, i) => [stream.subarray(0, i + 1), stream.subarray(i + 1)])
]

describe("R-SOCK-3 NDJSON lines at the maximum", () => {
  it("R-SOCK-3 lines up to the maximum in bytes are delivered in order wherever the stream is cut, the last one with or without its newline; `\\r\\n` endings are accepted and blank lines skipped", () =>
    fc.assert(
      fc.property(fc.array(arbWritten, { minLength: 1, maxLength: 4 }), fc.boolean(), (written, finalNewline) => {
        const lines = written.map(({ text, crlf }) => (crlf ? `${text}\r` : text))
        // The longest line is exactly at the maximum (its `\r` counted).
        const max = Math.max(1, ...lines.map((line) => Buffer.byteLength(line)))
        const stream = Buffer.from(lines.join("\n") + (finalNewline ? "\n" : ""))
        const expected = written.map(({ text }) => text).filter((text) => text.trim() !== "")
        for (const reads of everySingleCut(stream)) {
          const { texts, error } = decodeAll(max, reads)
          expect(error, `cut after ${reads[0]?.length} bytes`).toBeUndefined()
          expect(texts).toEqual(expected)
        }
      }),
      fcParams(200)
    ))

  it("R-SOCK-3 a line one byte over the maximum fails with TooLarge naming the maximum, after the lines before it, wherever the stream is cut", () =>
    fc.assert(
      fc.property(
        fc.array(arbLine, { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.boolean(),
        (lines, which, finalNewline) => {
          const k = which % lines.length
          const max = Buffer.byteLength(lines[k] as string) - 1
          // The lines before it fit; what comes after it does not matter.
          const before = lines.slice(0, k).filter((line) => Buffer.byteLength(line) <= max)
          const stream = Buffer.from([...before, ...lines.slice(k)].join("\n") + (finalNewline ? "\n" : ""))
          for (const reads of everySingleCut(stream)) {
            const { texts, error } = decodeAll(max, reads)
            expect(error?.reason, `cut after ${reads[0]?.length} bytes`).toBe("TooLarge")
            expect(error?.detail).toContain(`exceeds ${max}`)
            expect(texts).toEqual(before)
          }
        }
      ),
      fcParams(200)
    ))
})
