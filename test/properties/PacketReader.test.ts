/**
 * A peer's packets through the reader (R-SOCK-30, R-SOCK-4), over real SOCK_SEQPACKET sockets: each
 * packet is one message, a trailing newline allowed. A packet larger than `MaxPacketBytes` (which the
 * system hands over cut), one that is not UTF-8, one holding two messages or no JSON ends the
 * connection with `SocketProtocolError` naming what was wrong, after the messages before it; nothing
 * after it is handed out, and the reader stays failed.
 *
 * The oracle is SPEC.md's wording and the messages written, never the decoder's code.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { makeDecoder } from "../../src/contexts/socket/Framing.ts"
import { MessageReader, parseIncoming } from "../../src/contexts/socket/MessageReader.ts"
import { connectSeqpacket, listenSeqpacket, MaxPacketBytes } from "../../src/contexts/socket/SeqpacketTransport.ts"
import { encodeJsonResult } from "../../src/model/MessageJson.ts"
import type { SocketProtocolError } from "../../src/model/SocketErrors.ts"
import { run } from "../socket/support.ts"
import { arbMessage } from "../support/arbitraries.ts"
import { fcParams } from "../support/fc.ts"

const directory = mkdtempSync(join(tmpdir(), "bh-packet-reader-"))
let paths = 0
const freshPath = () => join(directory, `r${++paths}.sock`)

const jsonOf = (message: Parameters<typeof encodeJsonResult>[0]) => Result.getOrThrow(encodeJsonResult(message))

/** A message's packet as Go's `json.Encoder` writes it, or without the newline. */
const packetOf = (json: string, newline: boolean) => Buffer.from(newline ? `${json}\n` : json)

/**
 * A packet the reader must refuse: drawn as a description (a counterexample prints small), built by
 * `badPacket`. Each is otherwise a good message, so a decoder that skipped the check would hand it out.
 */
const arbBad = fc.oneof(
  fc.record({ kind: fc.constant("TooLarge" as const), message: arbMessage, extra: fc.nat({ max: 4096 }) }),
  fc.record({
    kind: fc.constant("InvalidUtf8" as const),
    message: arbMessage,
    at: fc.nat(),
    byte: fc.constantFrom(0xc0, 0xfe, 0xff)
  }),
  fc.record({ kind: fc.constant("TwoMessages" as const), first: arbMessage, second: arbMessage }),
  fc.record({ kind: fc.constant("NotJson" as const), text: fc.constantFrom("{", "not json", "\n") })
)

/** The bad packet's bytes, and what the refusal names: its reason, and a word of its detail. */
const badPacket = (bad: typeof arbBad extends fc.Arbitrary<infer T> ? T : never) => {
  switch (bad.kind) {
    case "TooLarge": {
      // Padded with spaces (JSON allows them) to just over the limit; the system hands it over cut.
      const json = jsonOf(bad.message)
      const size = Math.max(MaxPacketBytes + 1 + bad.extra, Buffer.byteLength(json) + 1)
      return { packet: Buffer.from(json.padEnd(size, " ")), reason: "Frame", detail: "TooLarge" }
    }
    case "InvalidUtf8": {
      // 0xc0, 0xfe and 0xff never occur in UTF-8, wherever they are put.
      const bytes = Buffer.from(jsonOf(bad.message))
      bytes[bad.at % bytes.length] = bad.byte
      return { packet: bytes, reason: "Frame", detail: "InvalidUtf8" }
    }
    case "TwoMessages":
      return { packet: Buffer.from(`${jsonOf(bad.first)}\n${jsonOf(bad.second)}\n`), reason: "Json", detail: "" }
    case "NotJson":
      return { packet: Buffer.from(bad.text), reason: "Json", detail: "" }
  }
}

describe("R-SOCK-30 R-SOCK-4 a peer's packets through the reader", () => {
  it(
    "R-SOCK-30 R-SOCK-4 a packet too large, not UTF-8, holding two messages or no JSON ends the connection with SocketProtocolError naming it, after the messages before it and before any after it",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(arbMessage, fc.boolean()), { maxLength: 3 }),
          arbBad,
          fc.array(fc.tuple(arbMessage, fc.boolean()), { minLength: 1, maxLength: 3 }),
          (before, drawn, after) =>
            run(
              Effect.gen(function* () {
                const bad = badPacket(drawn)
                const listener = yield* listenSeqpacket(freshPath())
                const writer = yield* connectSeqpacket((listener.address as { path: string }).path)
                const connection = yield* listener.accept
                for (const [message, newline] of before) yield* writer.write(packetOf(jsonOf(message), newline))
                yield* writer.write(bad.packet)
                for (const [message, newline] of after) yield* writer.write(packetOf(jsonOf(message), newline))
                yield* writer.close
                // The transport's own limit, as a connection over packets has it.
                const reader = new MessageReader(connection, makeDecoder("packet", MaxPacketBytes))
                const handed: Array<string> = []
                let failure: SocketProtocolError | undefined
                while (failure === undefined) {
                  const read = yield* Effect.result(reader.next)
                  if (Result.isFailure(read)) {
                    if (read.failure._tag !== "SocketProtocolError") throw new Error(`ended with ${read.failure._tag}`)
                    failure = read.failure
                    break
                  }
                  for (const text of read.success) {
                    const parsed = parseIncoming(connection.peer, text)
                    if (Result.isFailure(parsed)) {
                      failure = parsed.failure
                      break
                    }
                    handed.push(jsonOf(parsed.success.message))
                  }
                }
                expect(handed).toEqual(before.map(([message]) => jsonOf(message)))
                expect(failure.reason).toBe(bad.reason)
                expect(failure.peer).toBe(connection.peer)
                expect(failure.detail).toContain(bad.detail)
                // A reader that failed stays failed.
                if (bad.reason === "Frame") {
                  const again = yield* Effect.result(reader.next)
                  expect(Result.isFailure(again) && again.failure._tag).toBe("SocketProtocolError")
                }
                yield* connection.close
                yield* listener.close
              })
            )
        ),
        fcParams(40)
      ),
    120_000
  )
})
