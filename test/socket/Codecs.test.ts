import { describe, expect, it } from "vitest"
import {
  DefaultMaxFrameBytes,
  encodeFrame,
  FrameDecoder,
  FrameHeaderBytes
} from "../../src/contexts/socket/FrameCodec.ts"
import type { MessageDecoder } from "../../src/contexts/socket/Framing.ts"
import { AutoDecoder, encodeBatch, encoderFor, makeDecoder } from "../../src/contexts/socket/Framing.ts"
import { encodeLine, LineDecoder } from "../../src/contexts/socket/LineCodec.ts"
import { FrameDecodeError } from "../../src/model/SocketErrors.ts"

const bytes = (s: string) => new TextEncoder().encode(s)
const concat = (...parts: Array<Uint8Array>) => Buffer.concat(parts)

/** Feeds chunks, returns the texts and the first error (and checks it is the one `end` reports). */
const decode = (decoder: MessageDecoder, chunks: ReadonlyArray<Uint8Array>, end = true) => {
  const texts: Array<string> = []
  let error: FrameDecodeError | undefined
  for (const chunk of chunks) error ??= decoder.feed(chunk, (t) => texts.push(t))
  if (end) error ??= decoder.end((t) => texts.push(t))
  return { texts, error }
}

describe("frame codec", () => {
  it("R-SOCK-1 a frame is beeh v1 rv, a big-endian length and the JSON", () => {
    const frame = encodeFrame('{"a":"é"}')
    expect(Buffer.from(frame.subarray(0, 12)).toString("hex")).toBe("62656568763172760000000a")
    expect(Buffer.from(frame.subarray(12)).toString("utf8")).toBe('{"a":"é"}')
    expect(decode(new FrameDecoder(), [frame])).toEqual({ texts: ['{"a":"é"}'], error: undefined })
  })

  it("R-SOCK-1 split and coalesced reads give the same payloads", () => {
    const stream = concat(encodeFrame('{"n":1}'), encodeFrame('{"n":2}'), encodeFrame("3".repeat(1000)))
    const expected = ['{"n":1}', '{"n":2}', "3".repeat(1000)]
    expect(decode(new FrameDecoder(), [stream]).texts).toEqual(expected)
    const single = [...stream].map((b) => Uint8Array.of(b))
    expect(decode(new FrameDecoder(), single).texts).toEqual(expected)
    for (let cut = 1; cut < 40; cut++) {
      expect(decode(new FrameDecoder(), [stream.subarray(0, cut), stream.subarray(cut)]).texts).toEqual(expected)
    }
  })

  it("R-SOCK-1 bad magic, bad version, zero length, truncation and invalid UTF-8 fail; reserved bytes are not checked", () => {
    const good = encodeFrame("{}")
    const patched = (i: number, b: number) => {
      const copy = Uint8Array.from(good)
      copy[i] = b
      return copy
    }
    expect(decode(new FrameDecoder(), [patched(0, 0x42)]).error).toMatchObject({ reason: "BadMagic" })
    expect(decode(new FrameDecoder(), [patched(5, 0x32)]).error).toMatchObject({ reason: "BadVersion" })
    expect(decode(new FrameDecoder(), [patched(6, 0)]).texts).toEqual(["{}"])
    expect(decode(new FrameDecoder(), [encodeFrame("")]).error).toMatchObject({ reason: "Empty" })
    expect(decode(new FrameDecoder(), [good.subarray(0, 13)]).error).toMatchObject({ reason: "Truncated" })
    expect(decode(new FrameDecoder(), [good.subarray(0, 5)]).error?.message).toContain("after 5 of 12 bytes")
    const invalid = concat(good.subarray(0, 8), Uint8Array.of(0, 0, 0, 2, 0xc3, 0x28))
    const result = decode(new FrameDecoder(), [invalid])
    expect(result.error).toBeInstanceOf(FrameDecodeError)
    expect(result.error).toMatchObject({ reason: "InvalidUtf8" })
  })

  it("R-SOCK-2 a length over the maximum fails from the header, before any payload", () => {
    const header = Uint8Array.from(encodeFrame("x").subarray(0, 8))
    const huge = concat(header, Uint8Array.of(0xff, 0xff, 0xff, 0xff))
    const decoder = new FrameDecoder()
    expect(decoder.feed(huge, () => {})).toMatchObject({ reason: "TooLarge" })
    expect(decoder.hasPartial).toBe(false)
    const small = new FrameDecoder(10)
    expect(small.feed(encodeFrame("0123456789"), () => {})).toBeUndefined()
    expect(small.feed(encodeFrame("0123456789a"), () => {})).toMatchObject({ reason: "TooLarge" })
    expect(DefaultMaxFrameBytes).toBe(16 * 1024 * 1024)
    expect(FrameHeaderBytes).toBe(12)
  })

  it("R-SOCK-4 a decoder that failed stays failed and delivers nothing", () => {
    const decoder = new FrameDecoder()
    const first = decoder.feed(bytes("xxxxxxxxxxxxxxxx"), () => {})
    const texts: Array<string> = []
    expect(decoder.feed(encodeFrame("{}"), (t) => texts.push(t))).toBe(first)
    expect(decoder.end(() => {})).toBe(first)
    expect(texts).toEqual([])
  })
})

describe("line codec", () => {
  it("R-SOCK-3 lines split and coalesced, CRLF and blank lines, and a last line without newline", () => {
    const stream = bytes('{"n":1}\n\r\n{"n":2}\r\n   \n{"n":3}')
    const expected = ['{"n":1}', '{"n":2}', '{"n":3}']
    expect(decode(new LineDecoder(), [stream]).texts).toEqual(expected)
    expect(
      decode(
        new LineDecoder(),
        [...stream].map((b) => Uint8Array.of(b))
      ).texts
    ).toEqual(expected)
    expect(decode(new LineDecoder(), [stream], false).texts).toEqual(['{"n":1}', '{"n":2}'])
    expect(Buffer.from(encodeLine('{"é":1}')).toString("utf8")).toBe('{"é":1}\n')
  })

  it("R-SOCK-3 a line longer than the maximum fails before it is joined; invalid UTF-8 fails", () => {
    const decoder = new LineDecoder(8)
    expect(decoder.feed(bytes("12345"), () => {})).toBeUndefined()
    expect(decoder.feed(bytes("6789"), () => {})).toMatchObject({ reason: "TooLarge" })
    expect(new LineDecoder(8).feed(bytes("123456789\n"), () => {})).toMatchObject({ reason: "TooLarge" })
    expect(new LineDecoder(8).feed(concat(bytes("12345"), bytes("6789\n")).subarray(0, 5), () => {})).toBeUndefined()
    const joined = new LineDecoder(8)
    joined.feed(bytes("12345"), () => {})
    expect(joined.feed(bytes("6789\n"), () => {})).toMatchObject({ reason: "TooLarge" })
    expect(new LineDecoder().feed(Uint8Array.of(0xff, 0x0a), () => {})).toMatchObject({ reason: "InvalidUtf8" })
    expect(decode(new LineDecoder(), [Uint8Array.of(0xff)]).error).toMatchObject({ reason: "InvalidUtf8" })
  })

  it("R-SOCK-3 the auto decoder picks frames for a leading b and lines otherwise; batches frame many texts", () => {
    const frames = new AutoDecoder(100)
    expect(decode(frames, [new Uint8Array(0), encodeFrame("{}")]).texts).toEqual(["{}"])
    expect(frames.framing).toBe("frame")
    const lines = new AutoDecoder(100)
    expect(decode(lines, [bytes("{}\n")]).texts).toEqual(["{}"])
    expect(lines.framing).toBe("ndjson")
    expect(new AutoDecoder(100).end(() => {})).toBeUndefined()
    expect(makeDecoder("frame", 10)).toBeInstanceOf(FrameDecoder)
    expect(makeDecoder("ndjson", 10)).toBeInstanceOf(LineDecoder)
    const jsons = ['{"a":1}', '{"é":"ü"}', "{}"]
    expect(Buffer.from(encodeBatch("frame", jsons))).toEqual(concat(...jsons.map(encoderFor("frame"))))
    expect(Buffer.from(encodeBatch("ndjson", jsons))).toEqual(concat(...jsons.map(encoderFor("ndjson"))))
  })
})
