/**
 * A peer that floods a SOCK_SEQPACKET connection nobody reads (R-SOCK-30, R-SOCK-11), as a property:
 * whatever its packets' size and however fast it writes, the connection ends at the first bound the
 * unread packets cross, named, and the peer is stopped within what the system buffers. The peer is a
 * child process (test/socket/flooder.ts); the connection it floods is this process's.
 */
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MaxUnreadPacketBytes, MaxUnreadPackets } from "../../src/contexts/socket/SeqpacketTransport.ts"
import { floodUnread, systemBufferedPackets } from "../socket/flooder.ts"
import { fcParams } from "../support/fc.ts"

describe("R-SOCK-30 R-SOCK-11 a connection over packets that nobody reads", () => {
  it(
    "R-SOCK-30 R-SOCK-11 whatever its packets' size and however fast it writes, the peer is cut off at the first bound it crosses, named, and stopped within what the system buffers",
    () =>
      fc.assert(
        fc.asyncProperty(fc.integer({ min: 8, max: 4096 }), fc.integer({ min: 1, max: 128 }), (size, burst) =>
          Effect.runPromise(
            Effect.scoped(
              Effect.gen(function* () {
                // The packet that crosses a bound; one that crosses both at once (2 KiB packets) is
                // named by the packets.
                const bytesCut = Math.floor(MaxUnreadPacketBytes / size) + 1
                const byBytes = bytesCut < MaxUnreadPackets + 1
                const cutAt = Math.min(bytesCut, MaxUnreadPackets + 1)
                const { connection, written } = yield* floodUnread(cutAt * 2, size, burst)
                const wrote = (yield* Effect.promise(() => written)) / size
                const ended = yield* Effect.flip(connection.read)
                const bound = byBytes ? `${MaxUnreadPacketBytes} bytes` : `${MaxUnreadPackets} packets`
                expect(ended.detail).toBe(`the peer wrote more than ${bound} that this process had not read`)
                // The peer counts a packet when the package calls its write back, and the package may not
                // call back the writes still in flight when the connection ends (a whole burst at most, the
                // next burst waiting for the last): at least `cutAt` arrived, at most `burst` uncounted.
                expect(wrote + burst).toBeGreaterThanOrEqual(cutAt)
                // Once cut off, nothing here reads: the peer's further writes stop at what the system buffers.
                expect(wrote).toBeLessThanOrEqual(cutAt + systemBufferedPackets)
              })
            )
          )
        ),
        // The packet that crosses both bounds at once, always.
        { ...fcParams(6), examples: [[2048, 1]] }
      ),
    60_000
  )
})
