/**
 * A peer that floods a SOCK_SEQPACKET connection nobody reads (R-SOCK-30, R-SOCK-11). The peer is a
 * child process (its own write queue is not this process's memory), writing packets with
 * node-unix-socket as fast as the system takes them, and printing how many bytes it got written. The
 * property over any packet size and write speed is in test/properties/SeqpacketFlood.test.ts.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { MaxUnreadPacketBytes, MaxUnreadPackets } from "../../src/contexts/socket/SeqpacketTransport.ts"
import { floodUnread, systemBufferedPackets } from "./flooder.ts"
import { run } from "./support.ts"

describe("a connection over packets that nobody reads (R-SOCK-30, R-SOCK-11)", () => {
  it(
    "ends, with the reason, once the peer wrote more bytes than the bound; memory stays bounded",
    () =>
      run(
        Effect.gen(function* () {
          // 64 KiB packets: the byte bound is reached long before the packet bound.
          const size = 64 * 1024
          const count = (64 * 1024 * 1024) / size
          // The package's packets are external memory (not counted in arrayBuffers).
          const before = process.memoryUsage().external
          let peak = before
          const sampler = setInterval(() => {
            peak = Math.max(peak, process.memoryUsage().external)
          }, 5)
          yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(sampler)))
          const { connection, written } = yield* floodUnread(count, size, 1)
          const wrote = yield* Effect.promise(() => written)
          peak = Math.max(peak, process.memoryUsage().external)
          const ended = yield* Effect.flip(connection.read)
          expect(ended.detail).toBe(
            `the peer wrote more than ${MaxUnreadPacketBytes} bytes that this process had not read`
          )
          // Cut off past the bound, and stopped within what the system buffers, long before 64 MiB.
          expect(wrote).toBeGreaterThan(MaxUnreadPacketBytes)
          expect(wrote / size).toBeLessThanOrEqual(MaxUnreadPacketBytes / size + 1 + systemBufferedPackets)
          const grew = peak - before
          console.log(`flood: the peer wrote ${wrote} bytes; external memory grew by ${grew} bytes at the peak`)
          // Bounded by the limit, not by the flood: external memory also holds dropped packets the
          // collector has not freed yet (a clean run saw 17 MiB), so the bound is half the flood.
          expect(grew).toBeLessThan((count * size) / 2)
        })
      ),
    30_000
  )

  // Just below both bounds, and exactly at the byte bound: a connection holds at most that much unread,
  // and ends only when the peer writes more.
  it.each([
    ["just below both bounds", MaxUnreadPackets - 96, Math.floor(MaxUnreadPacketBytes / MaxUnreadPackets) - 48],
    ["of exactly the byte bound (64 packets of 128 KiB)", 64, MaxUnreadPacketBytes / 64]
  ])(
    "R-SOCK-30 loses nothing of a flood %s",
    (_, count, size) =>
      run(
        Effect.gen(function* () {
          const { connection, written } = yield* floodUnread(count, size, 1)
          // Read only once the peer has written everything and gone.
          expect(yield* Effect.promise(() => written)).toBe(count * size)
          const packets: Array<Uint8Array> = []
          const ended = yield* Effect.flip(Effect.forever(Effect.map(connection.read, (read) => packets.push(...read))))
          expect(ended.detail).toBe("the peer closed the connection")
          expect(packets.length).toBe(count)
          packets.forEach((packet, i) => {
            expect(packet.length).toBe(size)
            expect(Buffer.from(packet.subarray(0, 8)).toString()).toBe(String(i).padStart(8, "0"))
          })
        })
      ),
    30_000
  )
})
