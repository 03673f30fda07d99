/**
 * A Go peer that floods a connection over packets while this side's reading is paused (R-SOCK-30 with
 * R-SOCK-17), as a property over real SOCK_SEQPACKET sockets: the server's module takes few messages
 * and nobody receives them, so the link's inbound backlog fills and its reading pauses; the peer then
 * writes more packets than a connection holds unread. Whatever the mailbox and backlog sizes, the
 * connection ends at once, paused as it is, with SPEC's reason (event `Disconnected`), instead of
 * holding the link until someone receives.
 */
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MaxUnreadPackets } from "../../src/contexts/socket/SeqpacketTransport.ts"
import { waitFor, waitForEffect } from "../socket/support.ts"
import { fcParams } from "../support/fc.ts"
import { goSend, handshakenGoClient, ourServer, socketPath } from "../support/goPeer.ts"

const overrun = `the peer wrote more than ${MaxUnreadPackets} packets that this process had not read`

describe("R-SOCK-30 a connection over packets flooded while its reading is paused", () => {
  it(
    "R-SOCK-30 R-SOCK-17 R-SOCK-11 a peer that writes more packets than a connection holds unread, while this side's reading is paused, ends the connection at once with SPEC's reason",
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 1, max: 40 }),
          (capacity, maxInboundBacklog, filler) =>
            Effect.runPromise(
              Effect.scoped(
                Effect.gen(function* () {
                  const path = socketPath()
                  const side = yield* ourServer(path, { maxInboundBacklog }, capacity)
                  const go = yield* handshakenGoClient(path)
                  yield* waitFor(() => side.events.some((e) => e._tag === "Connected"), "the connection")
                  // Nobody receives from sink: its mailbox fills, then the link's backlog, then reading pauses.
                  for (let i = 0; i < capacity + maxInboundBacklog + 2; i++) go.write(goSend(`fill-${i}`, "sink", "f"))
                  yield* waitForEffect(
                    side.beehive.snapshot,
                    (snapshot) => snapshot.modules.find((m) => m.name === "sink")?.queued === capacity,
                    "the mailbox to fill"
                  )
                  const content = "x".repeat(filler)
                  for (let i = 0; i <= MaxUnreadPackets + 8; i++) go.write(goSend(`flood-${i}`, "sink", content))
                  yield* waitFor(
                    () => side.events.some((e) => e._tag === "Disconnected"),
                    "the connection to end",
                    10_000
                  )
                  const ended = side.events.find((e) => e._tag === "Disconnected")
                  expect(ended).toMatchObject({ _tag: "Disconnected", reason: overrun })
                })
              )
            )
        ),
        fcParams(4)
      ),
    120_000
  )
})
