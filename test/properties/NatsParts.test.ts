/**
 * The NATS context's parts that need no server, as properties of their rules: the registry's
 * announcements read back or refused with the reason of their defect, and a process found silent
 * exactly when the silence limit is exceeded (R-NATS-4); a serving process's acknowledgements, each
 * handled message counted once in its sender's counts, sent when R-NATS-8 says, to at most
 * `maxPendingRequests` senders owed a count at a time. Each part runs over a stand-in for the state
 * it shares with the others (only what it reads), never a connection.
 */
import type { Msg } from "@nats-io/transport-node"
import { Effect, Queue } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type Announcement, parseAnnouncement } from "../../src/contexts/nats/Announcement.ts"
import type { NatsEvent } from "../../src/contexts/nats/NatsOptions.ts"
import { controlCallback, type NatsState } from "../../src/contexts/nats/NatsState.ts"
import { Registry } from "../../src/contexts/nats/Registry.ts"
import { type Served, Serving } from "../../src/contexts/nats/Serving.ts"
import { fcParams } from "../support/fc.ts"

const encode = (value: unknown) => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value))

const arbAnnouncement: fc.Arbitrary<Announcement> = fc.record({
  v: fc.constant(1 as const),
  process: fc.string({ minLength: 1, maxLength: 12 }),
  kind: fc.constantFrom("hello" as const, "beat" as const, "bye" as const),
  modules: fc.array(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 5 })
})

/** One defect of an announcement, and the reason SPEC gives for it (R-NATS-4). */
const defects: ReadonlyArray<readonly [string, (a: Record<string, unknown>) => unknown]> = [
  ["not JSON", () => "{v:1"],
  ["not an object", () => 42],
  ["not an object", () => null],
  ["unknown version", (a) => ({ ...a, v: 2 })],
  ["unknown version", (a) => ({ ...a, v: "1" })],
  ["unknown version", ({ v: _, ...a }) => a],
  ["no process", (a) => ({ ...a, process: "" })],
  ["no process", (a) => ({ ...a, process: 7 })],
  ["unknown kind", (a) => ({ ...a, kind: "ciao" })],
  ["unknown kind", ({ kind: _, ...a }) => a],
  ["bad module list", (a) => ({ ...a, modules: "m" })],
  ["bad module list", (a) => ({ ...a, modules: Array.from({ length: 10_001 }, (_, i) => `m${i}`) })],
  ["bad module name", (a) => ({ ...a, modules: [...(a.modules as Array<string>), ""] })],
  ["bad module name", (a) => ({ ...a, modules: [3, ...(a.modules as Array<string>)] })]
]

/** A stand-in for the state the registry reads: no connection (announcing is a no-op), no endpoint. */
const registryState = (heartbeatMs: number, missedHeartbeats: number, events: Array<NatsEvent>) =>
  ({
    processId: "self",
    closed: true,
    options: { heartbeatMs, missedHeartbeats },
    report: (e: NatsEvent) => events.push(e),
    replies: { forgetProcess: () => {} },
    publisher: { endpoints: new Map() },
    serving: { has: () => false }
  }) as unknown as NatsState

type SilenceStep = { readonly kind: "beat" | "check"; readonly after: number }

/** A stand-in for the state the serving side's acknowledgements read: its options, and what it publishes. */
const servingState = (sendWindow: number, maxPendingRequests: number, published: Array<readonly [string, number]>) =>
  ({
    options: { sendWindow, maxPendingRequests },
    publish: (subject: string, _data: string, _reply: string | undefined, headers: Record<string, string>) => {
      published.push([subject, Number(headers["Beehive-Ack"])])
      return undefined
    }
  }) as unknown as NatsState

type AckStep =
  | { readonly kind: "handled"; readonly sender: number; readonly sync: boolean; readonly queued: number }
  | { readonly kind: "answer"; readonly sender: number }
  | { readonly kind: "heartbeat" }

const arbAckStep = (senders: number): fc.Arbitrary<AckStep> =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant("handled" as const),
        sender: fc.nat(senders - 1),
        sync: fc.boolean(),
        queued: fc.constantFrom(0, 0, 1, 3)
      })
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("answer" as const), sender: fc.nat(senders - 1) }) },
    { weight: 1, arbitrary: fc.constant({ kind: "heartbeat" as const }) }
  )

/** The reply subject of sender `s`'s `n`th message to the module: the reply prefix names the sender. */
const replyOf = (s: number, n: number) => `t.resp.p${s}.m.${n}`
const senderOf = (subject: string) => Number(subject.split(".")[2]?.slice(1))

describe("R-NATS-4 R-NATS-8 the NATS context's parts without a server", () => {
  it("R-NATS-4 an announcement reads back as sent; one with a defect is refused with that defect's reason, never a throw", () =>
    fc.assert(
      fc.property(arbAnnouncement, fc.nat(), (a, pick) => {
        expect(parseAnnouncement(encode(a))).toEqual(a)
        const [reason, breakIt] = defects[pick % defects.length] as (typeof defects)[number]
        expect(parseAnnouncement(encode(breakIt(a as unknown as Record<string, unknown>)))).toBe(reason)
      }),
      fcParams(200)
    ))

  it("R-NATS-4 a process is gone exactly when more than missedHeartbeats × heartbeatMs passed since it was last heard, and back at its next announcement", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(
          fc.record({
            kind: fc.constantFrom("beat" as const, "check" as const),
            // Around the limit (its exact value included) or anywhere below it.
            offset: fc.oneof(fc.integer({ min: -2, max: 2 }), fc.integer({ min: -10_000, max: 0 }))
          }),
          { minLength: 1, maxLength: 12 }
        ),
        (heartbeatMs, missed, drawn) => {
          const limit = heartbeatMs * missed
          const steps: Array<SilenceStep> = drawn.map((d) => ({ kind: d.kind, after: Math.max(0, limit + d.offset) }))
          const events: Array<NatsEvent> = []
          const registry = new Registry(registryState(heartbeatMs, missed, events))
          const beat: Announcement = { v: 1, process: "peer", kind: "beat", modules: [] }
          let now = 1_000_000
          Effect.runSync(registry.applyAnnouncement(beat, now))
          let lastHeard: number | undefined = now
          for (const step of steps) {
            now += step.after
            const before = events.length
            if (step.kind === "beat") {
              Effect.runSync(registry.applyAnnouncement(beat, now))
              expect(events.slice(before)).toEqual(
                lastHeard === undefined ? [{ _tag: "PeerUp", process: "peer", modules: [] }] : []
              )
              lastHeard = now
            } else {
              Effect.runSync(registry.dropSilent(now))
              const gone = lastHeard !== undefined && now - lastHeard > limit
              expect(events.slice(before)).toEqual(
                gone ? [{ _tag: "PeerGone", process: "peer", reason: "Silent" }] : []
              )
              if (gone) lastHeard = undefined
            }
            expect(registry.peers.has("peer")).toBe(lastHeard !== undefined)
          }
        }
      ),
      fcParams(200)
    ))

  it("R-NATS-8 responses and registry messages wait in a bounded queue: one that finds it full is dropped and reported BadPayload (control queue full); a subscription error offers nothing", () =>
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.boolean(), { maxLength: 12 }), (capacity, errors) => {
        const control = Effect.runSync(Queue.dropping<Msg>(capacity))
        const events: Array<NatsEvent> = []
        const callback = controlCallback(control, (e) => events.push(e))
        const offered: Array<string> = []
        errors.forEach((isError, i) => {
          const subject = `t.resp.p.m.${i}`
          if (isError) callback(new Error("subscription"), { subject } as Msg)
          else {
            offered.push(subject)
            callback(null, { subject } as Msg)
          }
        })
        expect(Effect.runSync(Queue.clear(control)).map((m) => m.subject)).toEqual(offered.slice(0, capacity))
        expect(events).toEqual(
          offered.slice(capacity).map((subject) => ({ _tag: "BadPayload", subject, reason: "control queue full" }))
        )
      }),
      fcParams(200)
    ))

  it("R-NATS-8 the serving side counts each handled message once in its sender's acknowledgements, a quarter window at a time, at once when the queue is empty after a one-way message, on a sync request's answer, at the heartbeat; counts are owed to at most maxPendingRequests senders, the oldest sent first", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc
          .integer({ min: 1, max: 6 })
          .chain((senders) => fc.tuple(fc.constant(senders), fc.array(arbAckStep(senders), { maxLength: 40 }))),
        (sendWindow, maxPending, [senders, steps]) => {
          const published: Array<readonly [string, number]> = []
          const serving = new Serving(servingState(sendWindow, maxPending, published))
          const queues = [0, 1, 3].map((n) => {
            const queue = Effect.runSync(Queue.bounded<Msg>(4))
            for (let i = 0; i < n; i++) Queue.offerUnsafe(queue, {} as Msg)
            return [n, queue] as const
          })
          const served = (queued: number): Served => ({
            module: "m",
            queue: (queues.find(([n]) => n === queued) as (typeof queues)[number])[1],
            unsubscribe: () => {}
          })
          const quarter = Math.max(1, Math.floor(sendWindow / 4))
          // The model: counts owed by sender, in the order the senders came to be owed one.
          const owed = new Map<number, number>()
          const handled = Array.from({ length: senders }, () => 0)
          const acked = Array.from({ length: senders }, () => 0)
          const sent = Array.from({ length: senders }, () => 0)
          const expectSent = (expected: Array<readonly [number, number]>) => {
            const got = published.splice(0).map(([subject, n]) => [senderOf(subject), n] as const)
            expect(got).toEqual(expected)
            for (const [s, n] of got) acked[s] = (acked[s] as number) + n
          }
          for (const step of steps) {
            if (step.kind === "handled") {
              const s = step.sender
              handled[s] = (handled[s] as number) + 1
              sent[s] = (sent[s] as number) + 1
              const n = sent[s] as number
              const expected: Array<readonly [number, number]> = []
              if (!owed.has(s) && owed.size >= maxPending) {
                const [oldest, count] = owed.entries().next().value as [number, number]
                owed.delete(oldest)
                expected.push([oldest, count])
              }
              owed.set(s, (owed.get(s) ?? 0) + 1)
              if ((owed.get(s) as number) >= quarter || (!step.sync && step.queued === 0)) {
                expected.push([s, owed.get(s) as number])
                owed.delete(s)
              }
              serving.acknowledge(served(step.queued), replyOf(s, n), step.sync)
              expectSent(expected)
            } else if (step.kind === "answer") {
              const s = step.sender
              const headers = serving.ackHeaders("m", replyOf(s, (sent[s] as number) + 1000))
              expect(headers).toEqual(owed.has(s) ? { "Beehive-Ack": String(owed.get(s)) } : undefined)
              acked[s] = (acked[s] as number) + Number(headers?.["Beehive-Ack"] ?? 0)
              owed.delete(s)
            } else {
              serving.sendOwedAcks()
              expect(published.length).toBeLessThanOrEqual(maxPending)
              expectSent([...owed])
              owed.clear()
            }
          }
          serving.sendOwedAcks()
          expectSent([...owed])
          // Conservation: every handled message counted once in its sender's acknowledgements.
          expect(acked).toEqual(handled)
        }
      ),
      fcParams(200)
    ))
})
