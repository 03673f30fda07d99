/**
 * R-SOCK-2 and R-JSON-6 against a hostile peer: before its handshake a peer gets room for a handshake
 * and no more; a frame's buffer grows with the bytes that came, not with what its header claims; a
 * deeply nested payload is refused in one pass, never parsed.
 */
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { encodeFrame, FrameDecoder, FrameHeaderBytes, FrameHeaderPrefix } from "../../src/contexts/socket/FrameCodec.ts"
import { parseIncoming } from "../../src/contexts/socket/MessageReader.ts"
import { HandshakeMaxFrameBytes } from "../../src/contexts/socket/SocketServer.ts"
import { hasNonFiniteNumber, jsonDepthExceeds, MaxJsonDepth, nonFiniteNumberPath } from "../../src/model/JsonDepth.ts"
import { decodeJsonResult } from "../../src/model/MessageJson.ts"
import { fcParams } from "../support/fc.ts"
import { makePair, run, waitFor } from "./support.ts"

/** A frame header that claims `size` bytes of payload. */
const header = (size: number): Uint8Array => {
  const bytes = new Uint8Array(FrameHeaderBytes)
  bytes.set(FrameHeaderPrefix, 0)
  new DataView(bytes.buffer).setUint32(8, size)
  return bytes
}

describe("R-SOCK-2 R-JSON-6 what an unidentified or hostile peer can cost", () => {
  it("before its handshake, a peer's frame may hold a handshake and no more: larger ones are refused unread", () =>
    run(
      Effect.gen(function* () {
        const { network, address, s } = yield* makePair()
        const refusedBefore = s.events.filter((e) => e._tag === "Refused").length
        // 64 connections, each claiming a 16 MiB frame (the default limit after a handshake) and sending 1 KiB.
        const connections = yield* Effect.forEach(Array.from({ length: 64 }), () => network.transport.connect(address))
        const before = process.memoryUsage().arrayBuffers
        for (const connection of connections) {
          yield* connection.write(header(16 * 1024 * 1024))
          yield* connection.write(new Uint8Array(1024))
        }
        yield* waitFor(() => s.events.filter((e) => e._tag === "Refused").length >= refusedBefore + 64, "64 refusals")
        const refusals = s.events.filter((e) => e._tag === "Refused").slice(refusedBefore)
        expect(
          refusals.every((e) => e._tag === "Refused" && e.reason.includes(`exceeds ${HandshakeMaxFrameBytes}`))
        ).toBe(true)
        expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(50 * 1024 * 1024)
        for (const connection of connections) yield* connection.close
      })
    ))

  it("a frame's buffer grows with the bytes received, not with the size its header claims", () => {
    const decoder = new FrameDecoder(16 * 1024 * 1024)
    expect(decoder.feed(header(16 * 1024 * 1024), () => {})).toBeUndefined()
    expect(decoder.feed(new Uint8Array(1000).fill(0x20), () => {})).toBeUndefined()
    const reserved = (Reflect.get(decoder, "payload") as Uint8Array).length
    expect(reserved).toBeLessThanOrEqual(64 * 1024)
    // And a frame whose bytes come in many pieces is whole and unchanged at its end.
    const json = JSON.stringify({ text: "y".repeat(200_000) })
    const frame = encodeFrame(json)
    const whole = new FrameDecoder()
    const texts: Array<string> = []
    for (let at = 0; at < frame.length; at += 7_919) whole.feed(frame.subarray(at, at + 7_919), (t) => texts.push(t))
    expect(texts).toEqual([json])
  })

  it("nesting beyond 10,000 levels is refused before parsing; the count ignores brackets inside strings", () => {
    const deep = `${"[".repeat(MaxJsonDepth + 1)}${"]".repeat(MaxJsonDepth + 1)}`
    expect(jsonDepthExceeds(deep)).toBe(true)
    expect(jsonDepthExceeds(`${"[".repeat(MaxJsonDepth)}${"]".repeat(MaxJsonDepth)}`)).toBe(false)
    expect(parseIncoming("peer", deep)).toMatchObject({
      failure: { reason: "Json", detail: expect.stringContaining("nested deeper") }
    })
    expect(decodeJsonResult(deep)).toMatchObject({ failure: { _tag: "MessageDecodeError" } })
    // Overflow by many digits and a small exponent is caught as well as by a large exponent.
    const digits = `{"header":{"msg_id":"x","timestamp":1},"route":{},"content":${"9".repeat(250)}e60}`
    expect(hasNonFiniteNumber(JSON.parse(digits))).toBe(true)
    // The quick question and the path agree on any JSON, nested past the recursion's depth or not.
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.nat({ max: 80 }), fc.boolean(), (value, depth, overflow) => {
        const text = `${"[".repeat(depth)}${JSON.stringify(value)}${overflow ? ",1e999" : ""}${"]".repeat(depth)}`
        const parsed = JSON.parse(depth === 0 && overflow ? `[${text}]` : text)
        expect(hasNonFiniteNumber(parsed)).toBe(nonFiniteNumberPath(parsed) !== undefined)
        expect(hasNonFiniteNumber(parsed)).toBe(overflow)
      }),
      fcParams(300)
    )
    expect(decodeJsonResult(digits)).toMatchObject({ failure: { path: "content" } })
    fc.assert(
      fc.property(fc.nat({ max: 40 }), fc.nat({ max: 40 }), fc.string({ maxLength: 20 }), (depth, limit, text) => {
        const nested = `${'{"k":['.repeat(depth)}${JSON.stringify(`[[${text}{{`)}${"]}".repeat(depth)}`
        expect(jsonDepthExceeds(nested, limit)).toBe(2 * depth > limit)
      }),
      fcParams(300)
    )
  })
})
