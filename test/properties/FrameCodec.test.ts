/**
 * Beehive frames as properties (R-SOCK-1, R-SOCK-2), the codec taken alone: payloads of any UTF-8
 * text are framed, the byte stream is cut into reads anywhere, and SPEC.md's wording is the oracle. A
 * stream that ends inside a frame (in its header or its payload) delivers the frames before it and then
 * fails with `Truncated`, saying how many of the frame's bytes came and how many it needed; the decoder
 * is poisoned from then on. On the sending side, a text is over a peer's maximum exactly when its UTF-8
 * bytes exceed it, whatever its mix of one- to four-byte characters.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  DefaultMaxFrameBytes,
  decodeUtf8,
  encodeFrame,
  FrameDecoder,
  FrameHeaderBytes,
  oversizeBytes
} from "../../src/contexts/socket/FrameCodec.ts"
import { encoderFor, type Framing, makeDecoder } from "../../src/contexts/socket/Framing.ts"
import type { FrameDecodeError } from "../../src/model/SocketErrors.ts"
import { fcParams } from "../support/fc.ts"

/** Texts mixing one- to four-byte UTF-8 characters, so byte counts and string lengths differ. */
const arbText = (minLength: number, maxLength: number) =>
  fc
    .array(fc.constantFrom("a", "{", '"', "\n", "é", "€", "😀", "z"), { minLength, maxLength })
    .map((chars) => chars.join(""))

const concat = (parts: ReadonlyArray<Uint8Array>) => Buffer.concat(parts.map((p) => Buffer.from(p)))

/** The stream cut at the given offsets (sorted, deduplicated, inside it), as the reads that carry it. */
const cut = (stream: Uint8Array, at: ReadonlyArray<number>): Array<Uint8Array> => {
  const offsets = [...new Set(at.map((n) => n % (stream.length + 1)))].sort((a, b) => a - b)
  const reads: Array<Uint8Array> = []
  let from = 0
  for (const to of [...offsets, stream.length]) {
    reads.push(stream.subarray(from, to))
    from = to
  }
  return reads
}

/** Feeds every read, then ends the stream; what was delivered and the first error. */
const decodeAll = (decoder: FrameDecoder, reads: ReadonlyArray<Uint8Array>) => {
  const texts: Array<string> = []
  const onText = (text: string) => texts.push(text)
  let error: FrameDecodeError | undefined
  for (const read of reads) {
    error = decoder.feed(read, onText)
    if (error !== undefined) return { texts, error }
  }
  return { texts, error: decoder.end(onText) }
}

describe("R-SOCK-1 frames, the codec alone", () => {
  it("R-SOCK-1 a header whose magic or version differs fails with BadMagic or BadVersion after the frames before it, one whose length is 0 with Empty, and the reserved bytes are not checked, wherever the stream is cut", () =>
    fc.assert(
      fc.property(
        fc.array(arbText(1, 20), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.integer({ min: 0, max: 11 }),
        fc.integer({ min: 1, max: 255 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        (texts, which, byte, delta, cuts) => {
          const k = which % texts.length
          const frames = texts.map((text) => Buffer.from(encodeFrame(text)))
          const frame = frames[k] as Buffer
          // Bytes 8..11 are the length: the change makes it 0, the case SPEC names; the others change by `delta`.
          if (byte >= 8) frame.fill(0, 8, 12)
          else frame[byte] = ((frame[byte] as number) + delta) & 255
          const expected = byte < 4 ? "BadMagic" : byte < 6 ? "BadVersion" : byte < 8 ? undefined : "Empty"
          const { texts: delivered, error } = decodeAll(new FrameDecoder(), cut(concat(frames), cuts))
          if (expected === undefined) {
            expect(error).toBeUndefined()
            expect(delivered).toEqual(texts)
          } else {
            expect(error?.reason, `byte ${byte} of frame ${k}`).toBe(expected)
            expect(delivered).toEqual(texts.slice(0, k))
          }
        }
      ),
      fcParams(300)
    ))

  it("R-SOCK-1 a stream that ends inside a frame delivers the frames before it, then fails with Truncated saying how many bytes came of how many; the decoder stays poisoned", () =>
    fc.assert(
      fc.property(
        fc.array(arbText(1, 40), { minLength: 1, maxLength: 5 }),
        fc.nat(),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 6 }),
        (texts, whichFrame, within, cuts) => {
          const frames = texts.map(encodeFrame)
          const k = whichFrame % frames.length
          const last = frames[k] as Uint8Array
          // At least one byte of frame k came, and not all of it.
          const have = 1 + (within % (last.length - 1))
          const stream = concat([...frames.slice(0, k), last.subarray(0, have)])
          const decoder = new FrameDecoder()
          const { texts: delivered, error } = decodeAll(decoder, cut(stream, cuts))
          expect(delivered).toEqual(texts.slice(0, k))
          expect(error?.reason).toBe("Truncated")
          // What came of the frame, and what it needed: its header, or its header and payload.
          const want = have < FrameHeaderBytes ? FrameHeaderBytes : last.length
          expect(error?.detail).toContain(`${have} of ${want} bytes`)
          // Poisoned: the same error again, and nothing more is delivered.
          const later: Array<string> = []
          expect(decoder.end((t) => later.push(t))).toBe(error)
          expect(decoder.feed(concat(frames), (t) => later.push(t))).toBe(error)
          expect(later).toEqual([])
        }
      ),
      fcParams(300)
    ))

  it("R-SOCK-1 a stream that ends between frames delivers every frame and ends cleanly, whatever the cuts", () =>
    fc.assert(
      fc.property(fc.array(arbText(1, 40), { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 8 }), (texts, cuts) => {
        const decoder = new FrameDecoder()
        const { texts: delivered, error } = decodeAll(decoder, cut(concat(texts.map(encodeFrame)), cuts))
        expect(error).toBeUndefined()
        expect(delivered).toEqual(texts)
        expect(decoder.hasPartial).toBe(false)
      }),
      fcParams(300)
    ))
})

describe("R-SOCK-1 large frames", () => {
  it("R-SOCK-1 frames past the decoder's first buffer (64 KiB) arrive whole and exact, whatever the cuts, as the buffer grows with the bytes received", () =>
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ unit: arbText(1, 8), bytes: fc.integer({ min: 1, max: 300_000 }) }).map(({ unit, bytes }) => {
            // A text of about `bytes` UTF-8 bytes: `unit` repeated, a distinct last character.
            const unitBytes = Buffer.byteLength(unit)
            return `${unit.repeat(Math.max(1, Math.floor(bytes / unitBytes)))}$`
          }),
          { minLength: 1, maxLength: 3 }
        ),
        fc.array(fc.nat(), { maxLength: 6 }),
        (texts, cuts) => {
          const decoder = new FrameDecoder()
          const { texts: delivered, error } = decodeAll(decoder, cut(concat(texts.map(encodeFrame)), cuts))
          expect(error).toBeUndefined()
          expect(delivered.length).toBe(texts.length)
          for (const [i, text] of texts.entries()) expect(delivered[i] === text, `frame ${i} exact`).toBe(true)
        }
      ),
      fcParams(60)
    ))
})

describe("R-SOCK-2 a frame's buffer", () => {
  it("R-SOCK-2 an unfinished frame reserves at most the larger of 64 KiB and twice what arrived of it, never more than its header claims; its buffer is reallocated at most once per doubling, however it is cut (no copying quadratic in the frame's size)", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2_000_000 }),
        fc.integer({ min: 512, max: 70_000 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        (size, readBytes, extraCuts) => {
          const frame = encodeFrame("x".repeat(size))
          const decoder = new FrameDecoder()
          // Reads of `readBytes`, some cut again anywhere.
          const reads: Array<Uint8Array> = []
          for (let at = 0; at < frame.length; at += readBytes) reads.push(frame.subarray(at, at + readBytes))
          const pieces = reads.flatMap((read, i) => {
            const extra = extraCuts[i % Math.max(1, extraCuts.length)]
            if (extra === undefined || read.length < 2) return [read]
            const at = 1 + (extra % (read.length - 1))
            return [read.subarray(0, at), read.subarray(at)]
          })
          let arrived = 0
          let reserved = 0
          let reallocations = 0
          let delivered = 0
          for (const piece of pieces) {
            expect(decoder.feed(piece, () => delivered++)).toBeUndefined()
            arrived += piece.length
            const now = decoder.reservedBytes
            if (delivered === 0 && now > 0) {
              const payloadArrived = arrived - FrameHeaderBytes
              expect(now, `after ${arrived} bytes`).toBeLessThanOrEqual(
                Math.min(size, Math.max(64 * 1024, 2 * payloadArrived))
              )
              if (now !== reserved && reserved > 0) reallocations++
            }
            reserved = now
          }
          expect(delivered).toBe(1)
          expect(decoder.reservedBytes).toBe(0)
          // From 64 KiB to `size`, doubling: at most log2(size / 64 KiB) + 1 reallocations.
          expect(reallocations).toBeLessThanOrEqual(Math.max(0, Math.ceil(Math.log2(size / (64 * 1024)))) + 1)
        }
      ),
      fcParams(40)
    ))
})

describe("R-SOCK-2 the sending side's size check", () => {
  it("R-SOCK-2 a text is over a peer's maximum exactly when its UTF-8 bytes exceed it, and the size given is its UTF-8 size", () =>
    fc.assert(
      fc.property(arbText(0, 120), fc.integer({ min: -8, max: 8 }), (text, delta) => {
        const bytes = Buffer.byteLength(text)
        // Maxima around the text's size, where a count of UTF-16 units instead of bytes would be wrong.
        const max = Math.max(1, bytes + delta)
        expect(oversizeBytes(text, max)).toBe(bytes > max ? bytes : undefined)
      }),
      fcParams(500)
    ))
})

describe("R-SOCK-4 payload text", () => {
  // The oracle: bytes are UTF-8 exactly when Node's lenient decoding, encoded again, gives them back
  // (an invalid sequence decodes to U+FFFD, whose encoding differs from it).
  const isUtf8 = (bytes: Uint8Array): boolean =>
    Buffer.compare(Buffer.from(Buffer.from(bytes).toString("utf8"), "utf8"), Buffer.from(bytes)) === 0
  const withBom = (bytes: Uint8Array) => Uint8Array.from([0xef, 0xbb, 0xbf, ...bytes])

  it("R-SOCK-4 a payload is its exact text when it is UTF-8 (a byte order mark kept, for JSON to refuse as Go does) and an InvalidUtf8 error otherwise, wherever the bad bytes are", () =>
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary", maxLength: 20 }).map((text) => new TextEncoder().encode(text)),
          fc.uint8Array({ maxLength: 20 })
        ),
        fc.boolean(),
        (payload, bom) => {
          const bytes = bom ? withBom(payload) : payload
          const decoded = decodeUtf8(bytes)
          if (isUtf8(bytes)) expect(decoded).toBe(Buffer.from(bytes).toString("utf8"))
          else expect(decoded).toMatchObject({ _tag: "FrameDecodeError", reason: "InvalidUtf8" })
        }
      ),
      fcParams(300)
    ))
})

describe("R-SOCK-3 a configured framing", () => {
  const jsonTexts = fc.array(
    fc
      .dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 6 }), { maxKeys: 3 })
      .map((o) => JSON.stringify(o)),
    { minLength: 1, maxLength: 4 }
  )
  const framings = fc.constantFrom<Framing>("frame", "ndjson")

  it("R-SOCK-3 a decoder made for one framing reads exactly the texts written in it, and never the texts written in the other", () =>
    fc.assert(
      fc.property(framings, framings, jsonTexts, (configured, written, texts) => {
        const decoder = makeDecoder(configured, DefaultMaxFrameBytes)
        const read: Array<string> = []
        const failed =
          decoder.feed(Buffer.concat(texts.map(encoderFor(written))), (text) => read.push(text)) ??
          decoder.end((text) => read.push(text))
        if (configured === written) {
          expect(failed).toBeUndefined()
          expect(read).toEqual(texts)
        } else {
          expect(read).not.toEqual(texts)
        }
      }),
      fcParams(200)
    ))
})

describe("R-SOCK-2 a decoder's maximum changed on the way (a server raises it after the handshake)", () => {
  type Stream = "frame" | "ndjson"
  const arbCase = fc.record({
    configured: fc.constantFrom<"auto" | Stream>("auto", "frame", "ndjson"),
    sent: fc.constantFrom<Stream>("frame", "ndjson"),
    before: fc.integer({ min: 8, max: 6000 }),
    after: fc.integer({ min: 8, max: 6000 }),
    // How many texts come before the maximum changes (0: before the first byte, so before an
    // "auto" decoder knows its framing).
    changeAt: fc.nat({ max: 3 }),
    sizes: fc.array(fc.integer({ min: 1, max: 6200 }), { minLength: 1, maxLength: 6 })
  })

  it("R-SOCK-2 each text is held to the maximum in force when it is read, in every framing and before or after an auto decoder picked one; a refusal names the size and the maximum", () =>
    fc.assert(
      fc.property(arbCase, ({ configured, sent, before, after, changeAt, sizes }) => {
        const framing = configured === "auto" ? sent : configured
        const decoder = makeDecoder(configured, before)
        const encode = encoderFor(framing)
        const delivered: Array<string> = []
        for (const [i, size] of sizes.entries()) {
          if (i === changeAt) decoder.setLimit(after)
          const max = i < changeAt ? before : after
          const text = "a".repeat(size)
          const error = decoder.feed(encode(text), (t) => delivered.push(t))
          if (size > max) {
            expect(error?.reason, `text ${i} of ${size} bytes against ${max}`).toBe("TooLarge")
            expect(error?.detail).toContain(`exceeds ${max}`)
            if (framing === "frame") expect(error?.detail).toContain(`${size} bytes`)
            expect(delivered.length).toBe(i)
            return
          }
          expect(error, `text ${i} of ${size} bytes against ${max}`).toBeUndefined()
          expect(delivered.length).toBe(i + 1)
        }
      }),
      fcParams(300)
    ))
})
