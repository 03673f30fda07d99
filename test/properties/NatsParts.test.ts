/**
 * The NATS context's parts that need no server, as properties of their rules: the registry's
 * announcements read back or refused with the reason of their defect, a process found silent
 * exactly when the silence limit is exceeded, another process's hello answered at once, and the
 * modules registered here those the processes heard from announce (R-NATS-4); a serving process's acknowledgements, each handled message counted once in its sender's
 * counts, sent when R-NATS-8 says, to at most `maxPendingRequests` senders owed a count at a time; the
 * sync requests a serving process owes answers to, each answered once, at most `maxPendingRequests`
 * of them remembered, the oldest forgotten, and a response JSON cannot carry answered with a refusal
 * (R-NATS-6); what the client refuses to publish, each message reported, a one-way one passed to
 * `onUndeliverable`, a sync call answered at once (R-NATS-3); every kind of message of the reply
 * inbox (counts, no-responders statuses, refusals, answers, R-NATS-5, R-NATS-6); the send window
 * under acknowledgements of any size (R-NATS-8); what `serve` refuses and subscribes (R-NATS-2). Each
 * part runs over a stand-in for the state it shares with the others (only what it reads), never a
 * connection.
 */
import type { JsMsg } from "@nats-io/jetstream"
import type { Msg } from "@nats-io/transport-node"
import { Effect, Exit, Fiber, Queue, Result, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { makeHost } from "../../src/contexts/Beehive.ts"
import { type ContextHostService, type ContextType, ProcessEndingReason } from "../../src/contexts/ContextHost.ts"
import { type Announcement, parseAnnouncement } from "../../src/contexts/nats/Announcement.ts"
import { BatchHeader, batchLines, inboundWeight, MaxBatch } from "../../src/contexts/nats/Batch.ts"
import { DurableEndpoint } from "../../src/contexts/nats/DurableEndpoint.ts"
import { ContextTypeNats, type NatsEvent } from "../../src/contexts/nats/NatsOptions.ts"
import {
  AckHeader,
  controlCallback,
  type NatsState,
  UnattributedHeader,
  UndeliverableHeader
} from "../../src/contexts/nats/NatsState.ts"
import { Publisher } from "../../src/contexts/nats/Publisher.ts"
import { Registry } from "../../src/contexts/nats/Registry.ts"
import { Replies } from "../../src/contexts/nats/Replies.ts"
import { type PartBatch, type Served, Serving } from "../../src/contexts/nats/Serving.ts"
import { durableStreamName, fromSubjectToken, subjects, subjectToken } from "../../src/contexts/nats/Subjects.ts"
import { SimRuntime } from "../../src/effects/SimRuntime.ts"
import { ModuleAlreadyExists } from "../../src/model/Errors.ts"
import type { Message } from "../../src/model/Message.ts"
import { encodeJsonResult } from "../../src/model/MessageJson.ts"
import { errorOf } from "../support/exits.ts"
import { fcParams } from "../support/fc.ts"
import { msg } from "../support/messages.ts"
import { arbPreemption, underPreemption } from "../support/preemption.ts"

const encode = (value: unknown) => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value))

const arbAnnouncement: fc.Arbitrary<Announcement> = fc.record(
  {
    v: fc.constant(1 as const),
    process: fc.string({ minLength: 1, maxLength: 12 }),
    kind: fc.constantFrom("hello" as const, "beat" as const, "bye" as const),
    modules: fc.array(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 5 }),
    batches: fc.boolean()
  },
  { requiredKeys: ["v", "process", "kind", "modules"] }
)

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

/**
 * A stand-in for the state the registry reads when it registers modules: a global context whose
 * "nats" modules are the publisher's endpoints (added and cleaned up by the registry), and whose other
 * modules (`taken`) make an announced name skipped.
 */
const registeringState = (
  taken: ReadonlySet<string>,
  endpoints: Map<string, unknown>,
  events: Array<NatsEvent>,
  bounds: { readonly maxPeers: number; readonly maxPeerModules: number } = { maxPeers: 1024, maxPeerModules: 65_536 },
  /** The beats this process published, when given: it is then connected, serving nothing. */
  beats?: Array<string>
) =>
  ({
    processId: "self",
    closed: beats === undefined,
    nc: { isClosed: () => false },
    options: { heartbeatMs: 1000, missedHeartbeats: 3, ...bounds },
    subjects: subjects("t"),
    publish: (_subject: string, data: string) => {
      beats?.push(data)
      return undefined
    },
    report: (e: NatsEvent) => events.push(e),
    replies: { forgetProcess: () => {} },
    publisher: { endpoints },
    serving: { has: () => false, modules: () => [] },
    durable: { has: () => false },
    beehive: {
      addModule: (module: string) =>
        Effect.suspend(() => {
          if (taken.has(module) || endpoints.has(module)) return Effect.fail(new ModuleAlreadyExists({ module }))
          endpoints.set(module, {})
          return Effect.void
        }),
      cleanup: (module: string) => Effect.sync(() => endpoints.delete(module))
    }
  }) as unknown as NatsState

/** A name another module of the global context has taken (R-NATS-4: skipped). */
const Taken = "L"

type RegistryStep =
  | { readonly kind: "hello" | "beat" | "bye"; readonly process: number; readonly modules: ReadonlyArray<string> }
  /** Time passing, `after` ms, then the check for silent processes (past 3000 ms unheard: gone). */
  | { readonly kind: "silence"; readonly after: number }
  /** The heartbeat's report of ignored announcements, `after` ms on. */
  | { readonly kind: "heartbeat"; readonly after: number }

const arbRegistryStep: fc.Arbitrary<RegistryStep> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constantFrom("hello" as const, "beat" as const, "beat" as const, "bye" as const),
      process: fc.nat(2),
      modules: fc.shuffledSubarray(["a", "b", "c", "d", Taken])
    })
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("silence" as const),
      // Past the limit for all, for some of those heard a few steps apart, or anything below it.
      after: fc.oneof(fc.constant(3001), fc.integer({ min: 2990, max: 3001 }), fc.integer({ min: 0, max: 3001 }))
    })
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("heartbeat" as const), after: fc.oneof(fc.nat(1200), fc.constant(1000)) })
  }
)

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

/** A stand-in for the state the registry reads when it announces: a connection open, what it publishes. */
const announcingState = (served: ReadonlyArray<string>, published: Array<readonly [string, string]>) =>
  ({
    processId: "self",
    closed: false,
    nc: { isClosed: () => false },
    options: { heartbeatMs: 1000, missedHeartbeats: 3 },
    subjects: subjects("t"),
    report: () => {},
    replies: { forgetProcess: () => {} },
    publisher: { endpoints: new Map() },
    serving: { has: () => false, modules: () => [...served] },
    publish: (subject: string, data: string) => {
      published.push([subject, data])
      return undefined
    }
  }) as unknown as NatsState

/** What a stand-in state saw published: subject, payload, headers. */
interface Published {
  readonly subject: string
  readonly data: string
  readonly headers: Record<string, string> | undefined
}

/** The processes the registry knows in the replies' stand-in state: any other counts for "". */
const KnownSenders = ["p0", "p1"]

/**
 * A stand-in for the state the replies read: their bound, the subjects, the processes the registry
 * knows (`KnownSenders`), what they report and publish; while `client.refusing`, the client refuses
 * every publish, as nats.js does once its connection closes.
 */
const repliesState = (
  maxPendingRequests: number,
  events: Array<NatsEvent>,
  published: Array<Published>,
  client: { refusing: boolean } = { refusing: false },
  maxPendingRequestBytes = 8 * 1024 * 1024
) =>
  ({
    options: { maxPendingRequests, maxPendingRequestBytes },
    subjects: subjects("t"),
    registry: { peers: new Map(KnownSenders.map((p) => [p, {}])) },
    report: (e: NatsEvent) => events.push(e),
    // No count owed to any sender: the acknowledgements ride elsewhere (the property above).
    serving: { ackHeaders: () => undefined },
    publish: (subject: string, data: string, _reply: string | undefined, headers?: Record<string, string>) => {
      if (client.refusing) return "connection closed"
      published.push({ subject, data, headers })
      return undefined
    }
  }) as unknown as NatsState

/** A refusal that replaces a response JSON cannot carry, marked when the response was unattributed. */
interface Refused {
  readonly subject: string
  readonly refused: true
  readonly marked: boolean
}

type ReplyStep =
  | { readonly kind: "deliver"; readonly request: number; readonly destination: string; readonly process: number }
  /** The serving side cannot deliver the `which`th copy owed to `destination` (its inbound queue full). */
  | { readonly kind: "undeliverable"; readonly request: number; readonly destination: string; readonly which: number }
  | {
      readonly kind: "answer"
      readonly request: number
      readonly from: string | undefined
      readonly encodable: boolean
      readonly refused: boolean
    }
  | { readonly kind: "forget"; readonly process: number }

const Destinations = ["A", "B", "C"]

/** A request of four, mostly of two: copies of one request, from two processes, meet more often. */
const arbRequest = fc.oneof(fc.nat(1), fc.nat(3))

const arbReplyStep: fc.Arbitrary<ReplyStep> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("deliver" as const),
      request: arbRequest,
      destination: fc.constantFrom(...Destinations),
      // Its sender: one id may come from two processes; "p2" and "p3" (the rarer) are ones the registry
      // does not know.
      process: fc.oneof(fc.nat(1), fc.nat(3))
    })
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("undeliverable" as const),
      request: arbRequest,
      destination: fc.constantFrom(...Destinations),
      which: fc.nat(2)
    })
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("answer" as const),
      request: arbRequest,
      from: fc.option(fc.constantFrom(...Destinations), { nil: undefined }),
      // Mostly a response JSON carries; sometimes one with a bigint (R-JSON-3).
      encodable: fc.constantFrom(true, true, true, false),
      // Sometimes the client refuses to publish the answer (R-NATS-3).
      refused: fc.constantFrom(false, false, false, true)
    })
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("forget" as const), process: fc.nat(3) }) }
)

/** The reply subject of sender `s`'s `n`th message to the module: the reply prefix names the sender. */
const replyOf = (s: number, n: number) => `t.resp.p${s}.m.${n}`
const senderOf = (subject: string) => Number(subject.split(".")[2]?.slice(1))

/** The modules calls publish requests to in the reply-inbox property; `D` is durable. */
const Durable = "D"
const InboxModules = ["A", "B", Durable]

/** One message on the reply inbox (R-NATS-6), and how it is made. */
interface InboxMessage {
  readonly kind: "ack" | "nobody" | "refused" | "answer" | "badSubject"
  /** The module its reply subject names: a call's, or one no endpoint is open for. */
  readonly module: string
  /** The call it is for, by index: past the calls, an id nobody waits for. */
  readonly call: number
  readonly marked: boolean
  /** A `Beehive-Ack` value, valid or not; or none. */
  readonly ack: string | undefined
  readonly reason: string
  /** Whether an answer's payload is a message's JSON. */
  readonly json: boolean
  readonly content: string
}

const arbInboxMessage: fc.Arbitrary<InboxMessage> = fc
  .record({
    kind: fc.constantFrom("ack", "nobody", "refused", "answer", "answer", "badSubject"),
    module: fc.constantFrom(...InboxModules, "x.y"),
    call: fc.nat(3),
    marked: fc.boolean(),
    ack: fc.option(fc.constantFrom("1", "5", "0", "-2", "1.5", "x", ""), { nil: undefined }),
    reason: fc.constantFrom("inbound queue full", "bad message JSON", ""),
    json: fc.constantFrom(true, true, true, false),
    // One answer in a few is one the global context's sendResp fails on.
    content: fc.constantFrom("ok", "ok", "refused by sendResp")
  })
  // A no-responders status is the server's: it carries no count.
  .map((m) => (m.kind === "nobody" ? { ...m, ack: undefined } : m))

const inboxSubject = (m: InboxMessage) =>
  m.kind === "badSubject" ? `t.resp.self.%E0%A4%A.c${m.call}` : `t.resp.self.${subjectToken(m.module)}.c${m.call}`

/** A stand-in for a message of the reply inbox, headers and status as nats.js gives them. */
const inboxMsg = (m: InboxMessage): Msg => {
  const data =
    m.kind === "answer"
      ? m.json
        ? Result.getOrThrow(encodeJsonResult(msg(`a${m.call}`, m.content, { header: { parentId: `c${m.call}` } })))
        : "{not json"
      : ""
  const values: Record<string, string> = {
    ...(m.ack !== undefined && { [AckHeader]: m.ack }),
    ...(m.kind === "refused" && { [UndeliverableHeader]: m.reason }),
    ...(m.marked && { [UnattributedHeader]: "1" })
  }
  const bytes = new TextEncoder().encode(data)
  return {
    subject: inboxSubject(m),
    data: bytes,
    headers:
      Object.keys(values).length === 0 && m.kind !== "nobody"
        ? undefined
        : {
            code: m.kind === "nobody" ? 503 : 0,
            get: (name: string) => values[name] ?? "",
            has: (name: string) => name in values
          },
    string: () => data
  } as unknown as Msg
}

describe("R-NATS-4 R-NATS-8 the NATS context's parts without a server", () => {
  it("R-NATS-4 an announcement reads back as sent; one with a defect is refused with that defect's reason, never a throw, and the registry reports it BadPayload and learns nothing from it", () =>
    fc.assert(
      fc.property(arbAnnouncement, fc.nat(), (a, pick) => {
        expect(parseAnnouncement(encode(a))).toEqual(a)
        const [reason, breakIt] = defects[pick % defects.length] as (typeof defects)[number]
        const broken = encode(breakIt(a as unknown as Record<string, unknown>))
        expect(parseAnnouncement(broken)).toBe(reason)
        const events: Array<NatsEvent> = []
        const registry = new Registry(registryState(1000, 3, events))
        Effect.runSync(registry.handle({ subject: "t.reg", data: broken } as unknown as Msg))
        expect(events).toEqual([{ _tag: "BadPayload", subject: "t.reg", reason }])
        expect(Effect.runSync(registry.remoteModules)).toEqual([])
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

  it("R-NATS-4 the nats modules registered here are those the processes heard from announce: each added when a first process announces it, whatever else the announcement lists (a name taken here skipped, ModuleSkipped, each time a process newly lists it), cleaned up when the last one no longer does (a beat without it, a bye, silence); within maxPeers processes and maxPeerModules listings, an announcement past either ignored whole (not learned, a hello not answered), reported AnnouncementsIgnored with the count since the last report, at once when none was for heartbeatMs, else at the next report or heartbeat", () =>
    fc.assert(
      fc.property(
        fc.array(arbRegistryStep, { minLength: 1, maxLength: 24 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 8 }),
        (steps, maxPeers, maxPeerModules) => {
          const events: Array<NatsEvent> = []
          const endpoints = new Map<string, unknown>()
          const beats: Array<string> = []
          const registry = new Registry(
            registeringState(new Set([Taken]), endpoints, events, { maxPeers, maxPeerModules }, beats)
          )
          // The model: the modules each live process announced last, in the order it was first heard;
          // the announcements ignored and not yet reported, the latest of them, and the last report.
          const live = new Map<string, ReadonlySet<string>>()
          /** When each live process was last heard: an ignored announcement is not heard. */
          const heard = new Map<string, number>()
          let ignored = 0
          let latest: { process: string; moduleCount: number; reason: string } | undefined
          let reportedAt: number | undefined
          let now = 1_000_000
          const report = (expected: Array<NatsEvent>) => {
            if (ignored === 0 || latest === undefined) return
            expected.push({ _tag: "AnnouncementsIgnored", count: ignored, ...latest })
            ignored = 0
            latest = undefined
            reportedAt = now
          }
          for (const step of steps) {
            const expected: Array<NatsEvent> = []
            const beatsBefore = beats.length
            let answered = false
            if (step.kind === "silence") {
              // Past the silence limit: every process unheard for longer is gone.
              now += step.after
              for (const process of [...live.keys()]) {
                if (now - (heard.get(process) ?? now) <= 3000) continue
                expected.push({ _tag: "PeerGone", process, reason: "Silent" })
                live.delete(process)
              }
              Effect.runSync(registry.dropSilent(now))
            } else if (step.kind === "heartbeat") {
              now += step.after
              report(expected)
              registry.reportIgnored(now)
            } else {
              now += 1
              const process = `p${step.process}`
              const before = live.get(process)
              const listed = [...live.values()].reduce((n, modules) => n + modules.size, 0)
              const count = new Set(step.modules).size
              const room = maxPeerModules - (listed - (before?.size ?? 0))
              const reason =
                step.kind === "bye"
                  ? undefined
                  : before === undefined && live.size >= maxPeers
                    ? `${maxPeers} processes known (maxPeers)`
                    : count > room
                      ? `${count} modules listed, room for ${room} (maxPeerModules ${maxPeerModules})`
                      : undefined
              if (reason !== undefined) {
                ignored++
                latest = { process, moduleCount: count, reason }
                if (reportedAt === undefined || now - reportedAt >= 1000) report(expected)
              } else if (step.kind === "bye") {
                if (before !== undefined) expected.push({ _tag: "PeerGone", process, reason: "Bye" })
                live.delete(process)
              } else {
                answered = step.kind === "hello"
                if (before === undefined) expected.push({ _tag: "PeerUp", process, modules: step.modules })
                if (step.modules.includes(Taken) && !before?.has(Taken))
                  expected.push({ _tag: "ModuleSkipped", module: Taken, reason: expect.any(String) })
                live.set(process, new Set(step.modules))
                heard.set(process, now)
              }
              Effect.runSync(
                registry.applyAnnouncement({ v: 1, process, kind: step.kind, modules: [...step.modules] }, now)
              )
            }
            expect(events.splice(0)).toEqual(expected)
            expect(beats.length - beatsBefore, "a hello answered").toBe(answered ? 1 : 0)
            expect(registry.peers.size).toBeLessThanOrEqual(maxPeers)
            const announced = new Set([...live.values()].flatMap((modules) => [...modules]))
            announced.delete(Taken)
            expect([...endpoints.keys()].sort()).toEqual([...announced].sort())
            expect(
              Effect.runSync(registry.remoteModules)
                .map(({ module, processes }) => [module, [...processes].sort()])
                .sort()
            ).toEqual(
              [...new Set([...live.values()].flatMap((modules) => [...modules]))]
                .map((m) => [m, [...live].flatMap(([p, modules]) => (modules.has(m) ? [p] : [])).sort()])
                .sort()
            )
          }
        }
      ),
      fcParams(300)
    ))

  it("R-NATS-4 awaitModule waits until the module is registered here, or fails with ModuleNotFound at its own timeout: callers waiting for one module at once each end by their own timeout or the announcement, whichever comes first, however the others end", () =>
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 5 }).map((ms) => ms.map((m) => m * 2)),
        // When another process announces the module (an odd number of ms: never at a caller's timeout), or never.
        fc.option(
          fc.integer({ min: 0, max: 110 }).map((ms) => ms * 2 + 1),
          { nil: undefined }
        ),
        (timeouts, announcedAt) => {
          const sim = new SimRuntime()
          const endpoints = new Map<string, unknown>()
          const state = registeringState(new Set(), endpoints, []) as unknown as {
            beehive: Record<string, unknown>
          }
          state.beehive.snapshot = Effect.sync(() => ({
            modules: [...endpoints.keys()].map((name) => ({ name, contextType: ContextTypeNats }))
          }))
          const registry = new Registry(state as unknown as NatsState)
          const calls = timeouts.map((ms) => sim.fork(registry.awaitModule("m", ms)))
          sim.settle()
          if (announcedAt !== undefined) {
            sim.advanceBy(announcedAt)
            sim.run(registry.applyAnnouncement({ v: 1, process: "p", kind: "beat", modules: ["m"] }, announcedAt))
          }
          sim.advanceBy(1_000)
          timeouts.forEach((ms, i) => {
            const exit = calls[i]?.pollUnsafe()
            const found = announcedAt !== undefined && announcedAt < ms
            if (found) expect(exit !== undefined && Exit.isSuccess(exit), `the call waiting ${ms} ms`).toBe(true)
            else expect(exit && errorOf(exit), `the call waiting ${ms} ms`).toMatchObject({ _tag: "ModuleNotFound" })
          })
        }
      ),
      fcParams(200)
    ))

  it("R-NATS-4 property: the announcements (one fiber, as the control loop reads them), the heartbeat's silence checks and the connection's loss for good, run at once in any interleaving, leave the registry agreeing with itself: each known process's listing counted once, each module owned by exactly the known processes that list it, registered here exactly when owned, never skipped as taken; after the loss nothing is known or registered, an announcement read after it ignored (R-NATS-9) (until this property found it, a process found silent while its announcement was applied left its module registered and owned by nobody)", () =>
    fc.assert(
      fc.property(
        fc.nat(),
        arbPreemption([0.3, 0.7]),
        fc.array(
          fc.record({
            kind: fc.constantFrom("hello" as const, "beat" as const, "beat" as const, "bye" as const),
            process: fc.nat(2),
            modules: fc.shuffledSubarray(["a", "b", "c"]),
            after: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4000 }))
          }),
          { minLength: 1, maxLength: 8 }
        ),
        // When the heartbeat checks for silent processes; past 3000 ms unheard, a process is gone.
        fc.array(fc.integer({ min: 0, max: 12_000 }), { maxLength: 3 }),
        fc.boolean(),
        (seed, preemption, announcements, silenceChecks, connectionLost) =>
          underPreemption(seed, preemption, (strategy) => {
            const sim = new SimRuntime({ strategy })
            const events: Array<NatsEvent> = []
            const endpoints = new Map<string, unknown>()
            const registry = new Registry(registeringState(new Set(), endpoints, events))
            let now = 0
            const heard = announcements.map((a) => {
              now += a.after
              return { ...a, at: now }
            })
            sim.fork(
              Effect.forEach(
                heard,
                (a) =>
                  registry.applyAnnouncement(
                    { v: 1, process: `p${a.process}`, kind: a.kind, modules: a.modules },
                    a.at
                  ),
                { discard: true }
              )
            )
            sim.fork(
              Effect.forEach(
                [...silenceChecks].sort((x, y) => x - y),
                (at) => registry.dropSilent(at),
                { discard: true }
              )
            )
            if (connectionLost) sim.fork(registry.connectionLost)
            sim.settle()
            // R-NATS-9: once the connection is lost for good, no process is known and no module registered.
            if (connectionLost) expect([registry.peers.size, endpoints.size], "known, registered").toEqual([0, 0])
            const listing = new Map<string, Array<string>>()
            for (const [process, peer] of registry.peers)
              for (const m of peer.modules) listing.set(m, [...(listing.get(m) ?? []), process])
            const owners = Effect.runSync(registry.remoteModules).map(({ module, processes }) => [
              module,
              [...processes].sort()
            ])
            expect(owners.sort(), "each module's owners").toEqual(
              [...listing].map(([m, processes]) => [m, processes.sort()]).sort()
            )
            expect([...endpoints.keys()].sort(), "the modules registered here").toEqual([...listing.keys()].sort())
            // White-box, as nothing else shows it before a bound is reached: the count the bounds check.
            expect((registry as unknown as { listed: number }).listed, "the listings counted").toBe(
              [...registry.peers.values()].reduce((n, peer) => n + peer.modules.size, 0)
            )
            expect(events.filter((e) => e._tag === "ModuleSkipped")).toEqual([])
          })
      ),
      fcParams(300)
    ))

  it("R-NATS-4 property: an awaitModule and the announcement that registers its module, in any interleaving, end with the call's success; an awaitModule interrupted at any of its steps leaves no waiter behind (until this property found it, one interrupted after it joined the waiters and before it set up its leaving stayed among them; it finds a call that reads the module table a step before it joins the waiters too, left waiting out its timeout for a module registered in between)", () =>
    fc.assert(
      fc.property(fc.nat(), arbPreemption([0.3, 0.7]), fc.nat(12), (seed, preemption, interruptAfter) =>
        underPreemption(seed, preemption, (strategy) => {
          const sim = new SimRuntime({ strategy })
          const endpoints = new Map<string, unknown>()
          const state = registeringState(new Set(), endpoints, []) as unknown as { beehive: Record<string, unknown> }
          state.beehive.snapshot = Effect.sync(() => ({
            modules: [...endpoints.keys()].map((name) => ({ name, contextType: ContextTypeNats }))
          }))
          const registry = new Registry(state as unknown as NatsState)
          const found = sim.fork(registry.awaitModule("m", 1_000))
          const given = sim.fork(registry.awaitModule("never", 1_000))
          sim.fork(registry.applyAnnouncement({ v: 1, process: "p", kind: "beat", modules: ["m"] }, 0))
          sim.fork(
            Effect.andThen(
              Effect.forEach(Array.from({ length: interruptAfter }), () => Effect.yieldNow),
              Fiber.interrupt(given)
            )
          )
          sim.settle()
          const exit = found.pollUnsafe()
          expect(exit !== undefined && Exit.isSuccess(exit), `the call for m: ${String(exit)}`).toBe(true)
          expect(given.pollUnsafe()?._tag).toBe("Failure")
          // White-box, as nothing else shows it: no call waits any longer, so none is listed.
          expect((registry as unknown as { waiters: Map<string, unknown> }).waiters.size).toBe(0)
        })
      ),
      fcParams(300)
    ))

  it("R-NATS-5 R-NATS-4 a module found served by nobody (no responders) is cleaned up and forgets its owners: a process that still listed it and then drops it, says bye or falls silent changes nothing more, never a defect; a process newly listing it registers it again", () =>
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            { weight: 3, arbitrary: arbRegistryStep },
            {
              weight: 1,
              arbitrary: fc.record({ kind: fc.constant("nobody" as const), module: fc.constantFrom("a", "b", Taken) })
            }
          ),
          { minLength: 1, maxLength: 16 }
        ),
        (steps) => {
          const events: Array<NatsEvent> = []
          const endpoints = new Map<string, unknown>()
          const registry = new Registry(registeringState(new Set([Taken]), endpoints, events))
          // The model: the modules each live process announced last, and each module's owners (the
          // processes that newly listed it since nobody was found serving it).
          const live = new Map<string, ReadonlySet<string>>()
          const heard = new Map<string, number>()
          const owners = new Map<string, Set<string>>()
          const disown = (module: string, process: string) => {
            owners.get(module)?.delete(process)
            if (owners.get(module)?.size === 0) owners.delete(module)
          }
          let now = 1_000_000
          for (const step of steps) {
            if (step.kind === "nobody") {
              owners.delete(step.module)
              Effect.runSync(registry.nobodyServes(step.module))
            } else if (step.kind === "silence") {
              now += step.after
              for (const [process, modules] of [...live]) {
                if (now - (heard.get(process) ?? now) <= 3000) continue
                for (const m of modules) disown(m, process)
                live.delete(process)
              }
              Effect.runSync(registry.dropSilent(now))
            } else if (step.kind === "heartbeat") {
              now += step.after
              registry.reportIgnored(now)
            } else {
              now += 1
              const process = `p${step.process}`
              const before = live.get(process) ?? new Set<string>()
              const after = step.kind === "bye" ? new Set<string>() : new Set(step.modules)
              for (const m of after) if (!before.has(m)) owners.set(m, (owners.get(m) ?? new Set()).add(process))
              for (const m of before) if (!after.has(m)) disown(m, process)
              if (step.kind === "bye") live.delete(process)
              else live.set(process, after)
              heard.set(process, now)
              Effect.runSync(
                registry.applyAnnouncement({ v: 1, process, kind: step.kind, modules: [...step.modules] }, now)
              )
            }
            expect([...endpoints.keys()].sort()).toEqual([...owners.keys()].filter((m) => m !== Taken).sort())
            expect(
              Effect.runSync(registry.remoteModules)
                .map(({ module, processes }) => [module, [...processes].sort()])
                .sort()
            ).toEqual([...owners].map(([m, processes]) => [m, [...processes].sort()]).sort())
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
            const queue = Effect.runSync(Queue.bounded<Msg | PartBatch>(4))
            for (let i = 0; i < n; i++) Queue.offerUnsafe(queue, {} as Msg)
            return [n, queue] as const
          })
          const served = (queued: number): Served => ({
            module: "m",
            queue: (queues.find(([n]) => n === queued) as (typeof queues)[number])[1],
            unsubscribe: () => {},
            inbound: queued
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
  it("R-NATS-4 another process's hello is answered at once with this process's list (a beat); a beat, a bye or this process's own hello is not answered", () =>
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            process: fc.constantFrom("self", "p1", "p2"),
            kind: fc.constantFrom("hello" as const, "beat" as const, "bye" as const)
          }),
          { minLength: 1, maxLength: 12 }
        ),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 3 }),
        (heard, served) => {
          const published: Array<readonly [string, string]> = []
          const registry = new Registry(announcingState(served, published))
          let now = 1_000_000
          for (const { process, kind } of heard) {
            const before = published.length
            Effect.runSync(registry.applyAnnouncement({ v: 1, process, kind, modules: [] }, now++))
            expect(published.slice(before).map(([subject, data]) => [subject, JSON.parse(data)])).toEqual(
              kind === "hello" && process !== "self"
                ? [["t.reg", { v: 1, process: "self", kind: "beat", modules: served, batches: true }]]
                : []
            )
          }
        }
      ),
      fcParams(200)
    ))

  it("R-NATS-6 R-NATS-8 copies of one request id from several processes to one module: a copy the serving side cannot deliver is answered as undeliverable, that copy and no other; each answer then goes to the oldest copy still owed", () =>
    fc.assert(
      fc.property(
        // Each copy's sender, in the order delivered, and the order in which they end: refused or answered.
        fc.array(fc.nat(2), { minLength: 1, maxLength: 6 }),
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        (senders, refusals) => {
          const events: Array<NatsEvent> = []
          const published: Array<Published> = []
          const state = repliesState(16, events, published) as unknown as Record<string, unknown>
          const replies = new Replies(state as unknown as NatsState)
          state.replies = replies
          state.host = { onUndeliverable: () => {} }
          const serving = new Serving(state as unknown as NatsState)
          const s = subjects("t")
          const owed = senders.map((p) => s.replyTo(`p${p}`, "A", "r"))
          for (const reply of owed) replies.registerInbound("r", { destination: "A", reply })
          const expected: Array<Published> = []
          for (const [i, refuse] of refusals.entries()) {
            if (owed.length === 0) break
            if (refuse) {
              // The newest copy still owed is the one the full queue dropped (copies of one reply subject,
              // one sender's, are alike: the oldest of them goes).
              const reply = owed[owed.length - 1] as string
              owed.splice(owed.indexOf(reply), 1)
              expected.push({ subject: reply, data: "", headers: { [UndeliverableHeader]: "full" } })
              serving.undeliverable("A", msg("r", "", { header: { sync: true } }), reply, "full")
            } else {
              const reply = owed.shift() as string
              const response = msg(`x${i}`, "answer", { header: { parentId: "r" } })
              const json = encodeJsonResult(response)
              expected.push({ subject: reply, data: Result.isSuccess(json) ? json.success : "", headers: undefined })
              expect(replies.forwardResponse(response, "A")).toBe(true)
            }
          }
          expect(published).toEqual(expected)
          expect(Effect.runSync(replies.pendingRequests)).toBe(owed.length)
        }
      ),
      fcParams(200)
    ))

  it("R-NATS-6 R-NATS-3 a serving process owes one answer per copy of a sync request delivered: a response answers the copy of its responder (unattributed, the oldest, marked Beehive-Unattributed), or, from a module owed none, is published attributed to it and answers none; past maxPendingRequests copies owed a new copy (of a new request or of one owed already), or past maxPendingRequestBytes of their ids and reply subjects, makes the sender owed the most (copies, or bytes; the new copy counted for its sender) forget its oldest request, the copies of it that sender sent (the new copy itself when its sender is owed nothing else), among senders owed as much the oldest (RequestForgotten; a sender is a process the registry knows, any other counting for one), so a sender owed no more than another loses nothing to it; a response JSON cannot carry is answered with an empty refusal; an answer the client refuses to publish answers its copy and is reported PublishFailed, named by its responder", () =>
    fc.assert(
      fc.property(
        // The bound of copies, or one so high that only the bytes budget binds.
        fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constant(64)),
        fc.array(arbReplyStep, { maxLength: 40 }),
        // The budget of ids and reply subjects (the default, or a few copies' worth), and each id's padding.
        fc.oneof(
          { weight: 2, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.integer({ min: 20, max: 300 }) },
          { weight: 1, arbitrary: fc.integer({ min: 20, max: 90 }) }
        ),
        fc.array(fc.nat(12), { minLength: 4, maxLength: 4 }),
        (maxPending, steps, maxBytes, padding) => {
          const events: Array<NatsEvent> = []
          const published: Array<Published> = []
          const client = { refusing: false }
          const state = repliesState(maxPending, events, published, client, maxBytes) as unknown as Record<
            string,
            unknown
          >
          const replies = new Replies(state as unknown as NatsState)
          state.replies = replies
          state.host = { onUndeliverable: () => {} }
          const serving = new Serving(state as unknown as NatsState)
          const s = subjects("t")
          const idOf = (r: number) => `r${r}${"x".repeat(padding[r] ?? 0)}`
          /** The process a reply subject names (`t.resp.<process>.<module>.<id>`). */
          const processIn = (reply: string) => reply.split(".")[2] as string
          // The model: the copies owed, by request; and for each sender (a process the registry knows, or
          // "" for any other), the requests it is owed copies of, each with when it came to be owed them.
          const owed = new Map<string, Array<{ readonly destination: string; readonly reply: string }>>()
          const since = new Map<string, Map<string, number>>()
          let owedAt = 0
          let copies = 0
          const senderIn = (reply: string) => (KnownSenders.includes(processIn(reply)) ? processIn(reply) : "")
          /** A copy of `id` to `reply` no longer owed: its sender forgets `id` once it is owed no copy of it. */
          const settled = (id: string, reply: string) => {
            const sender = senderIn(reply)
            if (!(owed.get(id) ?? []).some((c) => senderIn(c.reply) === sender)) since.get(sender)?.delete(id)
          }
          for (const step of steps) {
            const before = { events: events.length, published: published.length }
            const expectedEvents: Array<NatsEvent> = []
            const expectedPublished: Array<Published | Refused> = []
            if (step.kind === "deliver") {
              const id = idOf(step.request)
              const copy = {
                destination: step.destination,
                reply: s.replyTo(`p${step.process}`, step.destination, id)
              }
              // Every copy counts, a request's next copy too (until a property drew the bound against
              // them, copies of one request were never counted against it).
              const owedBytes = () =>
                [...owed].reduce((n, [key, list]) => n + list.reduce((m, c) => m + key.length + c.reply.length, 0), 0)
              const bytes = id.length + copy.reply.length
              // Past a bound, the sender owed the most copies (past the bytes budget, bytes), this copy
              // counted for its own, forgets its oldest request (this copy, the newest of all, when its
              // sender is owed nothing else: then it is not remembered); among senders owed as much, the
              // oldest request of them all.
              const sending = senderIn(copy.reply)
              const owedTo = (sender: string, byCopies: boolean) =>
                [...owed].reduce(
                  (n, [key, list]) =>
                    n +
                    list
                      .filter((c) => senderIn(c.reply) === sender)
                      .reduce((m, c) => m + (byCopies ? 1 : key.length + c.reply.length), 0),
                  0
                ) + (sender === sending ? (byCopies ? 1 : bytes) : 0)
              const oldestOf = (sender: string): readonly [string, number] => {
                const ids = since.get(sender)
                if (ids === undefined || ids.size === 0) return [id, owedAt]
                return [...ids].sort((x, y) => x[1] - y[1])[0] as [string, number]
              }
              let remembered = true
              while (true) {
                const byCopies = copies >= maxPending
                if (!byCopies && owedBytes() + bytes <= (maxBytes ?? 8 * 1024 * 1024)) break
                const others = [...since.keys()].filter((p) => p !== sending && (since.get(p)?.size ?? 0) > 0)
                const [loser, [oldest]] = [...others, sending]
                  .map((p) => [p, oldestOf(p)] as const)
                  .sort(([a, [, x]], [b, [, y]]) => owedTo(b, byCopies) - owedTo(a, byCopies) || x - y)[0] as readonly [
                  string,
                  readonly [string, number]
                ]
                expectedEvents.push({ _tag: "RequestForgotten", msgId: oldest })
                if (loser === sending && (since.get(sending)?.size ?? 0) === 0) {
                  remembered = false
                  break
                }
                const list = owed.get(oldest) ?? []
                const kept = list.filter((c) => senderIn(c.reply) !== loser)
                copies -= list.length - kept.length
                if (kept.length === 0) owed.delete(oldest)
                else owed.set(oldest, kept)
                since.get(loser)?.delete(oldest)
              }
              if (remembered) {
                const known = owed.get(id)
                if (known !== undefined) known.push(copy)
                else owed.set(id, [copy])
                copies++
                const ids = since.get(sending) ?? new Map<string, number>()
                if (!ids.has(id)) ids.set(id, owedAt++)
                since.set(sending, ids)
              }
              expect(copies).toBeLessThanOrEqual(maxPending)
              expect(owedBytes() <= (maxBytes ?? 8 * 1024 * 1024)).toBe(true)
              replies.registerInbound(id, copy)
            } else if (step.kind === "undeliverable") {
              // The serving side answers the copy it could not deliver, that copy and no other (until a property
              // drew one id from two processes, it took the first copy owed to the module, whichever).
              const id = idOf(step.request)
              const list = owed.get(id)
              const toModule = (list ?? []).filter((c) => c.destination === step.destination)
              const copy = toModule[step.which % Math.max(1, toModule.length)]
              if (list !== undefined && copy !== undefined) {
                list.splice(list.indexOf(copy), 1)
                copies--
                if (list.length === 0) owed.delete(id)
                settled(id, copy.reply)
                expectedEvents.push({ _tag: "Undeliverable", module: step.destination, msgId: id, reason: "full" })
                expectedPublished.push({ subject: copy.reply, data: "", headers: { [UndeliverableHeader]: "full" } })
                serving.undeliverable(step.destination, msg(id, "", { header: { sync: true } }), copy.reply, "full")
              }
            } else if (step.kind === "answer") {
              const id = idOf(step.request)
              const response = msg(`x${before.published}`, step.encodable ? "answer" : 10n, {
                header: { parentId: id }
              })
              const copiesOwed = owed.get(id)
              const oldest = copiesOwed?.[0]
              let subject: string | undefined
              if (copiesOwed !== undefined && oldest !== undefined) {
                const i = step.from === undefined ? 0 : copiesOwed.findIndex((c) => c.destination === step.from)
                if (i >= 0) {
                  subject = (copiesOwed.splice(i, 1)[0] as { reply: string }).reply
                  copies--
                  if (copiesOwed.length === 0) owed.delete(id)
                  settled(id, subject)
                } else subject = s.replyTo(processIn(oldest.reply), step.from as string, id)
                const json = encodeJsonResult(response)
                // Unattributed, it is marked so: the caller's process attributes it, never to this copy's module on S's word.
                const marked = step.from === undefined ? { [UnattributedHeader]: "1" } : undefined
                // What the client refuses to publish is reported, named by its responder (R-NATS-3): the copy is answered all the same.
                if (step.refused)
                  expectedEvents.push({
                    _tag: "PublishFailed",
                    module: step.from ?? oldest.destination,
                    msgId: response.header.id,
                    reason: "connection closed"
                  })
                else
                  expectedPublished.push(
                    Result.isSuccess(json)
                      ? { subject, data: json.success, headers: marked }
                      : { subject, refused: true as const, marked: marked !== undefined }
                  )
              }
              client.refusing = step.refused
              expect(replies.forwardResponse(response, step.from)).toBe(subject !== undefined)
              client.refusing = false
            } else {
              const prefix = s.replyInbox(`p${step.process}`).slice(0, -1)
              for (const [id, list] of [...owed]) {
                const kept = list.filter((c) => !c.reply.startsWith(prefix))
                copies -= list.length - kept.length
                if (kept.length === 0) owed.delete(id)
                else owed.set(id, kept)
                for (const c of list) if (c.reply.startsWith(prefix)) settled(id, c.reply)
              }
              replies.forgetProcess(`p${step.process}`)
            }
            expect(events.slice(before.events)).toEqual(expectedEvents)
            const got = published.slice(before.published)
            expect(got.length).toBe(expectedPublished.length)
            got.forEach((p, i) => {
              const e = expectedPublished[i] as Published | Refused
              if ("refused" in e) {
                // An empty message whose header says why (R-NATS-6): the caller's process makes it an error response.
                expect([p.subject, p.data]).toEqual([e.subject, ""])
                expect(p.headers?.[UndeliverableHeader]).toMatch(/^response not encodable: /)
                expect(p.headers?.[UnattributedHeader]).toBe(e.marked ? "1" : undefined)
              } else expect(p).toEqual(e)
            })
            expect(Effect.runSync(replies.pendingRequests)).toBe(copies)
          }
        }
      ),
      fcParams(2000)
    ))

  it("R-NATS-6 R-GSYNC-6 a caller's process attributes an answer marked unattributed to the one module the call's request was published to, every copy published counting (answered or not), else to no member; an unmarked answer to the module its reply subject names; a request of an ended call with the same id counts nothing; what it remembers of calls that ended is forgotten when many were published, never what a waiting call needs", () =>
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            {
              weight: 4,
              arbitrary: fc.record({
                kind: fc.constant("publish" as const),
                id: fc.nat(2),
                // A new call with that id (a new request), or another copy of the latest call's request.
                fresh: fc.boolean(),
                module: fc.constantFrom(...Destinations)
              })
            },
            {
              weight: 4,
              arbitrary: fc.record({
                kind: fc.constant("answer" as const),
                id: fc.nat(3),
                module: fc.constantFrom(...Destinations),
                marked: fc.boolean()
              })
            },
            // The latest call with that id ends.
            { weight: 1, arbitrary: fc.record({ kind: fc.constant("end" as const), id: fc.nat(2) }) },
            // Many other calls publish a request each, some of them waiting on.
            {
              weight: 1,
              arbitrary: fc.record({ kind: fc.constant("burst" as const), size: fc.integer({ min: 200, max: 1200 }) })
            }
          ),
          { maxLength: 30 }
        ),
        (steps) => {
          const waiting = new Set<string>()
          const replies = new Replies({
            ...repliesState(4, [], []),
            host: { isPending: (id: string) => waiting.has(id) }
          } as unknown as NatsState)
          // The model: per id, the latest call's request and the modules its copies were published to.
          const calls = new Map<string, { readonly request: ReturnType<typeof msg>; readonly modules: Set<string> }>()
          let others = 0
          for (const step of steps) {
            if (step.kind === "burst") {
              for (let i = 0; i < step.size; i++, others++) {
                const id = `b${others}`
                if (others % 3 === 0) waiting.add(id)
                replies.requestPublished(msg(id, "q", { header: { sync: true } }), "A")
              }
              continue
            }
            const id = `r${step.id}`
            if (step.kind === "end") waiting.delete(id)
            else if (step.kind === "publish") {
              let call = calls.get(id)
              if (call === undefined || step.fresh) {
                call = { request: msg(id, "q", { header: { sync: true } }), modules: new Set() }
                calls.set(id, call)
                waiting.add(id)
              }
              call.modules.add(step.module)
              replies.requestPublished(call.request, step.module)
            } else {
              const modules = [...(calls.get(id)?.modules ?? [])]
              const attributed =
                !step.marked || modules.length === 0 ? step.module : modules.length === 1 ? modules[0] : undefined
              // An ended call's request may be forgotten: its answer then goes by its reply subject.
              const allowed = waiting.has(id) || !step.marked ? [attributed] : [attributed, step.module]
              expect(allowed).toContain(replies.responder(id, step.module, step.marked))
            }
          }
          // A waiting call of the bursts is still attributed to the one module it was published to.
          for (let i = 0; i < others; i += 3) expect(replies.responder(`b${i}`, "B", true)).toBe("A")
        }
      ),
      fcParams(300)
    ))

  it("R-NATS-5 R-NATS-6 R-NATS-8 R-NATS-12 the reply inbox: a valid count credits its module's window, and alone ends there; a no-responders status is reported NoResponders and cleans up a module that is not durable (nothing answered here), while a durable module's waiting call is answered as refused; a refusal answers its call still waiting with an error response saying why, from the responder; an answer goes to its call, a late one reported LateResponse; what is no message or has a subject no reply subject has is reported BadPayload; every answer and refusal takes its request out of flight", () =>
    fc.assert(
      fc.property(
        // Per call: whether it still waits, and the modules its request was published to.
        fc.array(fc.record({ pending: fc.boolean(), modules: fc.subarray(InboxModules, { minLength: 1 }) }), {
          minLength: 1,
          maxLength: 3
        }),
        fc.array(arbInboxMessage, { maxLength: 20 }),
        (calls, arrivals) => {
          const events: Array<NatsEvent> = []
          const credits: Array<readonly [string, number]> = []
          const cleaned: Array<string> = []
          const taken: Array<{ readonly parentId: string; readonly content: unknown; readonly from?: string }> = []
          const pending = new Set(calls.flatMap((c, i) => (c.pending ? [`c${i}`] : [])))
          const requests = calls.map((_, i) => msg(`c${i}`, "q", { header: { sync: true } }))
          const endpoints = new Map(InboxModules.map((m) => [m, { inflight: new Map<string, Message>() }]))
          for (const [i, call] of calls.entries())
            for (const m of call.modules) endpoints.get(m)?.inflight.set(`c${i}`, requests[i] as Message)
          const state = {
            options: { maxPendingRequests: 10, maxPendingRequestBytes: 8 * 1024 * 1024 },
            subjects: subjects("t"),
            report: (e: NatsEvent) => events.push(e),
            host: { isPending: (id: string) => pending.has(id) },
            durable: { has: (m: string) => m === Durable },
            registry: { peers: new Map(), nobodyServes: (m: string) => Effect.sync(() => cleaned.push(m)) },
            publisher: {
              credited: (m: string, n: number) => credits.push([m, n]),
              endpoints: new Map(
                [...endpoints].map(([m, e]) => [
                  m,
                  { inflight: e.inflight, answered: (id: string) => e.inflight.delete(id) }
                ])
              )
            },
            beehive: {
              sendResp: (response: Message, from: string | undefined) =>
                Effect.suspend(() => {
                  if (response.content === "refused by sendResp") return Effect.fail(new Error("no"))
                  taken.push({ parentId: response.header.parentId, content: response.content, ...(from && { from }) })
                  return Effect.succeed(pending.delete(response.header.parentId))
                })
            }
          } as unknown as NatsState
          const replies = new Replies(state)
          for (const [i, call] of calls.entries())
            for (const m of call.modules) replies.requestPublished(requests[i] as Message, m)
          // The model, from SPEC: whom an answer on `module`'s reply subject is from (R-NATS-6).
          const responderOf = (id: string, module: string, marked: boolean) => {
            const call = calls[Number(id.slice(1))]
            if (!marked || call === undefined) return module
            return call.modules.length === 1 ? call.modules[0] : undefined
          }
          for (const a of arrivals) {
            const before = {
              events: events.length,
              credits: credits.length,
              cleaned: cleaned.length,
              taken: taken.length
            }
            const inflightBefore = new Map([...endpoints].map(([m, e]) => [m, new Set(e.inflight.keys())]))
            const wasPending = new Set(pending)
            Effect.runSync(replies.handle(inboxMsg(a)))
            const id = `c${a.call}`
            const expectedEvents: Array<NatsEvent> = []
            const expectedCredits: Array<readonly [string, number]> = []
            const expectedCleaned: Array<string> = []
            const expectedTaken: Array<{
              readonly parentId: string
              readonly content: unknown
              readonly from?: string
            }> = []
            let answeredHere: string | undefined
            const refuse = (reason: string) => {
              answeredHere = id
              if (inflightBefore.get(a.module)?.has(id) && wasPending.has(id)) {
                const from = responderOf(id, a.module, a.marked)
                expectedTaken.push({ parentId: id, content: reason, ...(from && { from }) })
              }
            }
            const ackValid = a.ack !== undefined && /^[1-9][0-9]*$/.test(a.ack)
            if (a.kind === "badSubject") {
              expectedEvents.push({ _tag: "BadPayload", subject: inboxSubject(a), reason: "bad reply subject" })
            } else {
              if (ackValid) expectedCredits.push([a.module, Number(a.ack)])
              const countAlone = a.ack !== undefined && a.ack !== "" && a.kind === "ack"
              if (countAlone) {
                // Nothing but the count.
              } else if (a.kind === "nobody") {
                expectedEvents.push({ _tag: "NoResponders", module: a.module, msgId: id })
                if (a.module === Durable) refuse(`no process serves module "${a.module}"`)
                else expectedCleaned.push(a.module)
              } else if (a.kind === "refused" && a.reason !== "") {
                refuse(a.reason)
              } else if (a.kind === "answer" && a.json) {
                answeredHere = id
                const from = responderOf(id, a.module, a.marked)
                if (a.content !== "refused by sendResp")
                  expectedTaken.push({ parentId: id, content: a.content, ...(from && { from }) })
                if (a.content === "refused by sendResp" || !wasPending.has(id))
                  expectedEvents.push({ _tag: "LateResponse", module: a.module, parentId: id })
              } else {
                expectedEvents.push({ _tag: "BadPayload", subject: inboxSubject(a), reason: expect.any(String) })
              }
            }
            expect(events.slice(before.events)).toEqual(expectedEvents)
            expect(credits.slice(before.credits)).toEqual(expectedCredits)
            expect(cleaned.slice(before.cleaned)).toEqual(expectedCleaned)
            expect(taken.slice(before.taken)).toEqual(expectedTaken)
            for (const [m, e] of endpoints) {
              const expected = new Set(inflightBefore.get(m))
              if (m === a.module && answeredHere !== undefined) expected.delete(answeredHere)
              expect(new Set(e.inflight.keys()), `in flight to ${m}`).toEqual(expected)
            }
          }
        }
      ),
      fcParams(300)
    ))

  it("R-NATS-1 R-NATS-12 any module name or message id is one subject token without wildcards, read back as it was: two names never share a subject, nor two modules a stream, under one prefix or two", () =>
    fc.assert(
      fc.property(
        // Names made of the characters that need encoding, and of any others.
        fc.array(
          fc.oneof(
            fc.string({ unit: fc.constantFrom(".", "*", ">", "~", "%", " ", "a", "2", "E") }),
            fc.string({ unit: "binary" }),
            // Lone surrogates (a JavaScript string may hold them; a JSON text may write them).
            fc.string({ unit: fc.constantFrom("\ud800", "\udbff", "\udc00", "\udfff", "😀", "a", "%") })
          ),
          {
            minLength: 2,
            maxLength: 6
          }
        ),
        // Valid prefixes (R-NATS-1) that differ only in their dots, among others.
        fc.array(
          fc
            .array(fc.stringMatching(/^[a-c_-]{1,2}$/), { minLength: 1, maxLength: 3 })
            .map((tokens) => tokens.join(".")),
          { minLength: 1, maxLength: 3 }
        ),
        fc.array(fc.nat(), { maxLength: 3 }),
        (names, drawnPrefixes, joins) => {
          const distinct = [...new Set(names.filter((n) => n !== ""))]
          for (const name of distinct) {
            const token = subjectToken(name)
            expect(token).not.toMatch(/[.*>\s]/)
            expect(fromSubjectToken(token)).toBe(name)
          }
          const s = subjects("p")
          expect(new Set(distinct.map((n) => s.module(n))).size).toBe(distinct.length)
          // A prefix and the same tokens joined with no dot somewhere are two prefixes.
          const prefixes = [
            ...new Set([
              ...drawnPrefixes,
              ...drawnPrefixes.flatMap((prefix) =>
                joins.map((at) => {
                  const dots = [...prefix.matchAll(/\./g)].map((m) => m.index)
                  const dot = dots[at % Math.max(1, dots.length)]
                  return dot === undefined ? prefix : prefix.slice(0, dot) + prefix.slice(dot + 1)
                })
              )
            ])
          ]
          const streams = prefixes.flatMap((prefix) => distinct.map((n) => durableStreamName(prefix, n)))
          expect(new Set(streams).size).toBe(prefixes.length * distinct.length)
        }
      ),
      fcParams(100)
    ))

  it("R-NATS-12 a durable module's sync requests go to its mailbox here exactly while this process serves it (an unserve returns those waiting there, to be answered); otherwise they go out, as its one-way messages always do", () =>
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constant({ op: "serve" as const }),
            fc.constant({ op: "unserve" as const }),
            fc.record({ op: fc.constant("send" as const), sync: fc.boolean() })
          ),
          { maxLength: 20 }
        ),
        (steps) => {
          const endpoint = new DurableEndpoint(
            "box",
            100,
            1 << 20,
            () => false,
            () => {},
            () => {}
          )
          // The model: whether this process serves the module, the requests in its mailbox, what went out.
          let served = false
          let mailbox: Array<string> = []
          let out = 0
          steps.forEach((step, i) => {
            if (step.op === "serve") {
              // As serving does (R-NATS-12).
              endpoint.served = true
              served = true
            } else if (step.op === "unserve") {
              expect(endpoint.unserve().map((m) => m.header.id)).toEqual(mailbox)
              mailbox = []
              served = false
            } else {
              const id = `s${i}`
              expect(endpoint.offerNow(msg(id, id, { header: { sync: step.sync } }))).toBe(true)
              if (served && step.sync) mailbox.push(id)
              else out++
            }
            expect(endpoint.outgoing, "what went out").toBe(out)
            expect(endpoint.queued - endpoint.outgoing, "what waits in the mailbox").toBe(mailbox.length)
          })
          const taken: Array<string> = []
          for (let m = endpoint.takeNow(); m !== undefined; m = endpoint.takeNow()) taken.push(m.header.id)
          expect(taken).toEqual(mailbox)
        }
      ),
      fcParams(200)
    ))

  it("R-NATS-12 R-RECV-4 R-RECV-5 a durable mailbox acknowledges each fetched message once, when a receive (one or a batch, taking it at once or handed it while waiting) keeps it; what an interrupted receive gives back is at the head of the line again, in order, acknowledged only when handed out anew; a stop gives the rest back to JetStream, oldest first", () =>
    fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant("fetch" as const), n: fc.integer({ min: 1, max: 4 }) }),
            fc.record({
              op: fc.constant("take" as const),
              n: fc.integer({ min: 1, max: 4 }),
              batch: fc.boolean(),
              keep: fc.boolean()
            }),
            fc.record({ op: fc.constant("wait" as const), keep: fc.boolean() })
          ),
          { maxLength: 12 }
        ),
        async (capacity, steps) => {
          // A stand-in for what the consumer fetched: only what JetStream is told is recorded.
          const told: Array<string> = []
          const jsOf = (id: string) =>
            ({
              ack: () => told.push(`ack ${id}`),
              nak: () => told.push(`nak ${id}`),
              working: () => {}
            }) as unknown as JsMsg
          const endpoint = new DurableEndpoint(
            "box",
            capacity,
            1 << 20,
            () => false,
            () => {},
            () => {}
          )
          endpoint.served = true
          const line: Array<string> = []
          const expected: Array<string> = []
          let next = 0
          for (const step of steps) {
            if (step.op === "fetch") {
              for (let i = 0; i < step.n; i++) {
                const id = `f${next}`
                const fits = line.length < capacity
                expect(endpoint.offerFetched(msg(id), jsOf(id))).toBe(fits)
                if (fits) {
                  line.push(id)
                  next++
                }
              }
            } else if (step.op === "wait") {
              // A receive waiting on the empty mailbox is handed the next message fetched; interrupted
              // then (before it resumed), it gives the message back (R-RECV-4).
              if (line.length > 0) continue
              const handed: Array<string> = []
              const armed = endpoint.armTake()((exit) => {
                if (Exit.isSuccess(exit)) handed.push(exit.value.header.id)
              })
              expect(typeof armed).toBe("function")
              const id = `f${next++}`
              expect(endpoint.offerFetched(msg(id), jsOf(id))).toBe(true)
              expect(handed).toEqual([id])
              if (step.keep) expected.push(`ack ${id}`)
              else {
                ;(armed as () => void)()
                line.push(id)
              }
            } else {
              // A receive takes one, a batch receive (receiveAll) up to n, in one step.
              const taken: Array<ReturnType<typeof msg>> = []
              for (let i = 0; i < (step.batch ? step.n : 1); i++) {
                const m = endpoint.takeNow()
                if (m === undefined) break
                taken.push(m)
              }
              // Everything in the mailbox is there to be taken at once, up to the batch's bound.
              const ids = line.splice(0, step.batch ? step.n : 1)
              expect(taken.map((m) => m.header.id)).toEqual(ids)
              if (!step.keep) {
                // Interrupted before the receive returned (R-RECV-4): handed back in the same step.
                if (step.batch) endpoint.giveBackAll(taken)
                else for (const m of [...taken].reverse()) endpoint.giveBack(m)
                line.unshift(...ids)
              } else expected.push(...ids.map((id) => `ack ${id}`))
            }
            // The acknowledgements go once the step is over.
            await null
            expect(told).toEqual(expected)
          }
          expect(endpoint.unserve()).toEqual([])
          expect(told).toEqual([...expected, ...line.map((id) => `nak ${id}`)])
          // A receive waiting when the module closes, and one after, fail with ModuleClosed naming it.
          const ended: Array<unknown> = []
          const waiting = endpoint.armTake()((exit) => ended.push(errorOf(exit)))
          expect(typeof waiting).toBe("function")
          endpoint.close()
          expect(ended).toMatchObject([{ _tag: "ModuleClosed", module: "box" }])
          const after = endpoint.armTake()(() => {})
          expect(typeof after === "function" ? "waits" : errorOf(after)).toMatchObject({
            _tag: "ModuleClosed",
            module: "box"
          })
        }
      ),
      fcParams(200)
    ))

  it("R-NATS-13 a batch's payload reads back as the lines joined; a count that is no integer from 1 to 1024, or that is not the number of lines, is refused with its reason, never a throw; the inbound queue counts a valid batch as its messages, anything else as one", () =>
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string({ maxLength: 6 }).filter((l) => !l.includes("\n")),
            fc.constant("{}")
          ),
          { maxLength: 20 }
        ),
        fc.oneof(
          fc.constant("same" as const),
          fc.integer({ min: -3, max: 1030 }).map(String),
          fc.constantFrom("", "01", "+2", "1e1", "2.0", " 2", "x", "99999999999999999999", "１")
        ),
        (lines, drawn) => {
          const text = lines.join("\n")
          // The lines a payload holds: an empty payload none (one empty line joins to it too).
          const held = text === "" ? [] : text.split("\n")
          const count = drawn === "same" ? String(held.length) : drawn
          const n = Number(count)
          const valid = /^[1-9][0-9]{0,3}$/.test(count) && n <= MaxBatch
          const read = batchLines(count, text)
          if (!valid) expect(read).toBe(`bad batch count "${count.slice(0, 32)}"`)
          else if (held.length === n) expect(read).toEqual(held)
          else expect(read).toBe(`batch count ${n} but ${held.length > n ? `more than ${n}` : held.length} messages`)
          expect(inboundWeight(count === "" ? undefined : count)).toBe(valid ? n : 1)
          expect(inboundWeight(undefined)).toBe(1)
        }
      ),
      fcParams(300)
    ))

  it("R-NATS-13 R-NATS-4 the messages to a module go in batches exactly when some process serves it and every process serving it announced batches: true (an older one says nothing)", () =>
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            process: fc.constantFrom("p1", "p2", "p3"),
            kind: fc.constantFrom("hello" as const, "beat" as const, "beat" as const, "bye" as const),
            modules: fc.subarray(["m", "n"]),
            batches: fc.constantFrom(true, false, undefined, "true", 1)
          }),
          { minLength: 1, maxLength: 12 }
        ),
        (heard) => {
          const state = {
            ...(announcingState([], []) as unknown as Record<string, unknown>),
            beehive: { addModule: () => Effect.void, cleanup: () => Effect.void },
            durable: { has: () => false }
          } as unknown as NatsState
          const registry = new Registry(state)
          // The model: what each process announced last, until its goodbye.
          const last = new Map<string, { modules: ReadonlyArray<string>; batches: unknown }>()
          let now = 1_000_000
          for (const h of heard) {
            const a = encode({ v: 1, process: h.process, kind: h.kind, modules: h.modules, batches: h.batches })
            const parsed = parseAnnouncement(a)
            expect(typeof parsed).toBe("object")
            Effect.runSync(registry.applyAnnouncement(parsed as Announcement, now++))
            if (h.kind === "bye") last.delete(h.process)
            else last.set(h.process, { modules: h.modules, batches: h.batches })
            for (const module of ["m", "n", "z"]) {
              const owners = [...last.values()].filter((l) => l.modules.includes(module))
              expect([module, registry.acceptsBatches(module)]).toEqual([
                module,
                owners.length > 0 && owners.every((l) => l.batches === true)
              ])
            }
          }
        }
      ),
      fcParams(300)
    ))
})

/** What the stand-in client took: each publish's message ids, and its batch header if it had one. */
interface TakenPublish {
  readonly ids: ReadonlyArray<string>
  readonly batchHeader: string | undefined
}

/**
 * A stand-in for the state the publisher reads (R-NATS-3, R-NATS-13): the global context `host`, no
 * flush due (`flushEvery` out of reach), the modules' batching, a send window and a payload budget
 * (`maxPayload`, the server's limit less 1 KiB), and a client that refuses the publishes `refuses`
 * names (counted from 0), recording the message ids of each publish it takes.
 */
const publishingState = (
  host: ContextHostService,
  batching: boolean,
  refuses: ReadonlyArray<boolean>,
  taken: Array<string>,
  events: Array<NatsEvent>,
  limits: { readonly sendWindow: number; readonly maxPayload: number; readonly publishes?: Array<TakenPublish> } = {
    sendWindow: 1_000_000,
    maxPayload: 1 << 20
  }
) => {
  let calls = 0
  const state = {
    host,
    beehive: host.beehive,
    processId: "self",
    options: { flushEvery: 1_000_000, sendWindow: limits.sendWindow, heartbeatMs: 1000, missedHeartbeats: 3 },
    maxPayload: () => limits.maxPayload,
    durable: { has: () => false, closed: () => {} },
    registry: { acceptsBatches: () => batching },
    subjects: subjects("bh"),
    replies: undefined as unknown as Replies,
    report: (e: NatsEvent) => events.push(e),
    publish: (_subject: string, data: string, _reply: string, headers?: Record<string, string>) => {
      if (refuses[calls++] === true) return "connection closed"
      const ids = data.split("\n").map((line) => JSON.parse(line).header.msg_id as string)
      taken.push(...ids)
      limits.publishes?.push({ ids, batchHeader: headers?.[BatchHeader] })
      return undefined
    }
  } as unknown as NatsState & { replies: Replies }
  state.replies = new Replies(state)
  return state
}

describe("R-NATS-3 what the client refuses to publish", () => {
  it("R-NATS-3 R-SYNC-4 a message the client refuses to publish is reported PublishFailed, once: a one-way message (alone or in a batch) passed to onUndeliverable, once; a sync request's call answered at once with an error response from its module; whatever the client took is neither", () =>
    fc.assert(
      fc.property(
        fc.array(fc.record({ sync: fc.boolean(), module: fc.constantFrom("S", "T") }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.boolean(), { maxLength: 16 }),
        fc.boolean(),
        (sends, refuses, batching) => {
          const sim = new SimRuntime()
          const scope = sim.run(Scope.make())
          const undeliverable: Array<string> = []
          const host = sim.run(
            Scope.provide(makeHost({ onUndeliverable: (_, message) => undeliverable.push(message.header.id) }), scope)
          )
          const taken: Array<string> = []
          const events: Array<NatsEvent> = []
          const publisher = new Publisher(
            publishingState(host, batching, refuses, taken, events),
            sim.run(Queue.unbounded<void>())
          )
          sim.run(host.plug({ type: ContextTypeNats, open: publisher.open } as ContextType))
          for (const module of ["S", "T"]) sim.run(host.beehive.addModule(module, { contextType: ContextTypeNats }))
          const calls = new Map<string, Fiber.Fiber<ReturnType<typeof msg>, unknown>>()
          const oneWay: Array<string> = []
          for (const [i, { sync, module }] of sends.entries()) {
            const id = `q${i}`
            if (sync)
              calls.set(
                id,
                sim.fork(host.beehive.sendSync(module, msg(id, "q", { route: { destination: module } }), 60_000))
              )
            else {
              sim.run(host.beehive.send(module, msg(id)))
              oneWay.push(id)
            }
          }
          sim.fork(publisher.run)
          sim.settle()
          const failed = events.flatMap((e) => (e._tag === "PublishFailed" ? [e.msgId] : []))
          expect(new Set(failed).size, "each refused message reported once").toBe(failed.length)
          // Every message went out or was refused, never both.
          expect([...taken, ...failed].sort()).toEqual(sends.map((_, i) => `q${i}`).sort())
          expect(undeliverable.sort(), "the refused one-way messages, each once").toEqual(
            oneWay.filter((id) => failed.includes(id)).sort()
          )
          for (const [id, fiber] of calls) {
            const exit = fiber.pollUnsafe()
            if (!failed.includes(id)) {
              expect(exit, `${id} was published: its call waits for an answer`).toBeUndefined()
              continue
            }
            expect(exit !== undefined && Exit.isSuccess(exit), `${id} was refused: its call ended at once`).toBe(true)
            const response = (exit as Exit.Success<ReturnType<typeof msg>>).value
            expect(response.header.parentId).toBe(id)
            expect(response.route.operation).toBe("error")
            expect(String(response.content)).toContain("connection closed")
          }
          sim.run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(200)
    ))
})

/** A message as the client hands it to a subscription: its subject, reply subject, batch header and payload. */
const arrived = (json: string, reply: string | undefined, batch: number | undefined) =>
  ({
    subject: "bh.mod.m",
    reply: reply ?? "",
    headers: batch === undefined ? undefined : { get: (name: string) => (name === BatchHeader ? String(batch) : "") },
    string: () => json
  }) as unknown as Msg

/**
 * A stand-in for the state serving reads (R-NATS-8): the global context `host`, its scope, an inbound
 * bound, a send window whose quarter is out of reach (a count is sent on its own only when the queue
 * is empty after a one-way message, or at the heartbeat), a subscription whose callback is handed out,
 * and what is published with its headers.
 */
const servingHostState = (
  host: ContextHostService,
  scope: Scope.Scope,
  maxInbound: number,
  published: Array<{ readonly subject: string; readonly headers: Record<string, string> }>,
  subscribed: (callback: (error: Error | null, msg: Msg) => void) => void,
  report: (event: NatsEvent) => void = () => {}
) => {
  const state = {
    host,
    beehive: host.beehive,
    scope,
    processId: "self",
    maxPayload: () => 1 << 20,
    options: {
      maxInbound,
      prefix: "bh",
      sendWindow: 1_000_000,
      maxPendingRequests: 1000,
      maxPendingRequestBytes: 8 * 1024 * 1024
    },
    subjects: subjects("bh"),
    publisher: { endpoints: new Map() },
    durable: { has: () => false },
    nc: {
      subscribe: (_subject: string, options: { callback: (error: Error | null, msg: Msg) => void }) => {
        subscribed(options.callback)
        return { unsubscribe: () => {} }
      }
    },
    flushBriefly: Effect.void,
    registry: { peers: new Map(), announce: () => Effect.void },
    report,
    publish: (subject: string, _data: string, _reply: string | undefined, headers?: Record<string, string>) => {
      published.push({ subject, headers: headers ?? {} })
      return undefined
    },
    replies: undefined as unknown as Replies,
    serving: undefined as unknown as Serving
  } as unknown as NatsState & { replies: Replies; serving: Serving }
  state.replies = new Replies(state)
  state.serving = new Serving(state)
  return state
}

/**
 * A module "m" of `capacity` in `host`, served on `sim` by the state `servingHostState` makes with
 * `natsScope`: what serving publishes and reports, and NATS handing it a message.
 */
const serveOne = (
  sim: SimRuntime,
  host: ContextHostService,
  natsScope: Scope.Scope,
  maxInbound: number,
  capacity: number
) => {
  const published: Array<{ readonly subject: string; readonly headers: Record<string, string> }> = []
  const reports: Array<NatsEvent> = []
  let subscription: (error: Error | null, msg: Msg) => void = () => {}
  const state = servingHostState(
    host,
    natsScope,
    maxInbound,
    published,
    (callback) => {
      subscription = callback
    },
    (event) => reports.push(event)
  )
  sim.run(host.beehive.addModule("m", { capacity }))
  sim.run(state.serving.serve("m"))
  sim.settle()
  return { state, published, reports, deliver: (msg: Msg) => subscription(null, msg) }
}

describe("R-NATS-8 R-NATS-13 a served module's inbound queue full", () => {
  it("R-NATS-8 R-NATS-13 R-NATS-2 a sync request the full inbound queue refuses, and a payload that is no message, are answered Beehive-Undeliverable carrying the sender's count, itself included, under any schedule, whatever the queue holds (nothing, while a batch's lines are being delivered, too); every message (a batch's bad line, wherever it is, too) counts once in its sender's acknowledgements, and each payload that is no message is reported BadPayload once, whether the queue took it or not", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(
          fc.oneof(
            {
              weight: 5,
              arbitrary: fc.record({
                kind: fc.constant("arrive" as const),
                sender: fc.nat(1),
                sync: fc.boolean(),
                batch: fc.constantFrom(1, 1, 2, 3, 5),
                // Not a message's JSON: alone, or one line of a batch (the line at `badAt`, modulo its size).
                bad: fc.constantFrom(false, false, false, true),
                badAt: fc.nat(4)
              })
            },
            {
              weight: 1,
              arbitrary: fc.record({ kind: fc.constant("receive" as const), count: fc.integer({ min: 1, max: 3 }) })
            },
            { weight: 1, arbitrary: fc.constant({ kind: "settle" as const }) }
          ),
          { maxLength: 30 }
        ),
        fc.nat(),
        arbPreemption([0.3, 0.7]),
        (maxInbound, capacity, steps, seed, preemption) =>
          underPreemption(seed, preemption, (strategy) => {
            const sim = new SimRuntime({ strategy })
            const scope = sim.run(Scope.make())
            const host = sim.run(Scope.provide(makeHost(), scope))
            const { state, published, reports, deliver } = serveOne(sim, host, scope, maxInbound, capacity)
            const sentBy = [0, 0]
            const arrivals: Array<Fiber.Fiber<void>> = []
            let badPayloads = 0
            let n = 0
            // Each arrival is a fiber of its own, so that the schedule puts it anywhere in the delivery's steps.
            for (const step of steps) {
              if (step.kind === "settle") sim.settle()
              else if (step.kind === "receive") for (let i = 0; i < step.count; i++) sim.fork(host.beehive.receive("m"))
              else {
                const ids = Array.from({ length: step.sync ? 1 : step.batch }, () => `q${n++}`)
                const json = ids
                  .map((id, i) =>
                    step.bad && i === step.badAt % ids.length
                      ? `{"${id}"`
                      : Result.getOrThrow(encodeJsonResult(msg(id, id, { header: { sync: step.sync } })))
                  )
                  .join("\n")
                const reply = replyOf(step.sender, n)
                const batch = ids.length === 1 ? undefined : ids.length
                arrivals.push(sim.fork(Effect.sync(() => deliver(arrived(json, reply, batch)))))
                sentBy[step.sender] = (sentBy[step.sender] as number) + ids.length
                if (step.bad) badPayloads++
              }
            }
            sim.settle()
            for (const { headers } of published)
              if (headers["Beehive-Undeliverable"] !== undefined)
                expect(Number(headers["Beehive-Ack"] ?? 0), "the refusal carries its count").toBeGreaterThanOrEqual(1)
            // Everything is received in the end; what delivered requests owe waits for the heartbeat.
            sim.fork(Effect.forever(host.beehive.receive("m")))
            sim.settle()
            state.serving.sendOwedAcks()
            const acked = [0, 0]
            for (const { subject, headers } of published)
              acked[senderOf(subject)] = (acked[senderOf(subject)] as number) + Number(headers["Beehive-Ack"] ?? 0)
            expect(acked, "every message counted once").toEqual(sentBy)
            for (const arrival of arrivals)
              expect(arrival.pollUnsafe(), "the subscription's callback never throws").toEqual(Exit.void)
            expect(
              reports.filter((event) => event._tag === "BadPayload").length,
              "each payload that is no message is reported once, whether the inbound queue took it or not"
            ).toBe(badPayloads)
            sim.run(Scope.close(scope, Exit.void))
          })
      ),
      fcParams(300)
    ))
})

describe("R-NATS-2 a served module stops being served while messages wait for it", () => {
  it("R-NATS-2 R-NATS-8 R-NATS-13 the context's end (serving stopped, then its fibers interrupted) at any point of the deliveries, under any schedule and preemption: every message taken from NATS (alone or in a batch) is in the module's mailbox or reported Undeliverable (the process is ending), once, never both, never neither; a sync request reported so is answered Beehive-Undeliverable (a delivery the end cut after the module admitted its message counts as delivered)", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 }),
        fc.array(
          fc.oneof(
            {
              weight: 4,
              arbitrary: fc.record({
                kind: fc.constant("arrive" as const),
                sync: fc.boolean(),
                // A batch (R-NATS-13) carries one-way messages only.
                batch: fc.constantFrom(1, 1, 2, 3)
              })
            },
            { weight: 2, arbitrary: fc.constant({ kind: "receive" as const }) },
            { weight: 1, arbitrary: fc.constant({ kind: "settle" as const }) }
          ),
          { maxLength: 12 }
        ),
        fc.nat(12),
        fc.nat(),
        arbPreemption([0.3, 0.7]),
        (capacity, steps, endAt, seed, preemption) =>
          underPreemption(seed, preemption, (strategy) => {
            const sim = new SimRuntime({ strategy })
            const hostScope = sim.run(Scope.make())
            const natsScope = sim.run(Scope.make())
            const host = sim.run(Scope.provide(makeHost(), hostScope))
            const { state, published, reports, deliver } = serveOne(sim, host, natsScope, 64, capacity)
            const sent: Array<{ readonly id: string; readonly sync: boolean; readonly reply: string }> = []
            const received: Array<string> = []
            const receive = Effect.map(host.beehive.receive("m"), (m) => {
              received.push(m.header.id)
            })
            // The end as the NATS context's finalizer does it: serving stopped, then its scope closed.
            // Measured with the suite's seed (the code instrumented): 131 deliveries cut by it, 15 of
            // them after the module admitted the message.
            const end = Effect.andThen(
              state.serving.stopServing("m", ProcessEndingReason),
              Scope.close(natsScope, Exit.void)
            )
            let ended: Fiber.Fiber<void> | undefined
            steps.forEach((step, i) => {
              if (i === endAt) ended = sim.fork(end)
              if (step.kind === "settle") sim.settle()
              else if (step.kind === "receive") sim.fork(Effect.ignore(receive))
              else if (ended === undefined) {
                // NATS hands over nothing more once the subscription is gone.
                const size = step.sync ? 1 : step.batch
                const reply = replyOf(0, sent.length)
                const ids = Array.from({ length: size }, (_, k) => `q${sent.length + k}`)
                for (const id of ids) sent.push({ id, sync: step.sync, reply })
                const json = ids
                  .map((id) => Result.getOrThrow(encodeJsonResult(msg(id, id, { header: { sync: step.sync } }))))
                  .join("\n")
                deliver(arrived(json, reply, size === 1 ? undefined : size))
              }
            })
            ended ??= sim.fork(end)
            sim.settle()
            expect(ended.pollUnsafe(), "the end ends").toEqual(Exit.void)
            // The module stays in its process: what its mailbox holds is received in the end.
            sim.fork(Effect.forever(receive))
            sim.settle()
            const undeliverable = reports.flatMap((event) => (event._tag === "Undeliverable" ? [event.msgId] : []))
            for (const { id, sync, reply } of sent) {
              const times = received.filter((r) => r === id).length + undeliverable.filter((u) => u === id).length
              expect(times, `${id}: received or reported Undeliverable, once`).toBe(1)
              if (sync && undeliverable.includes(id))
                expect(
                  published.some((p) => p.subject === reply && p.headers["Beehive-Undeliverable"] !== undefined),
                  `${id}: answered Beehive-Undeliverable`
                ).toBe(true)
            }
            for (const event of reports)
              if (event._tag === "Undeliverable") expect(event.reason).toBe(ProcessEndingReason)
            sim.run(Scope.close(hostScope, Exit.void))
          })
      ),
      fcParams(400)
    ))
})

describe("R-NATS-2 R-NATS-6 a message without a reply subject", () => {
  it("R-NATS-2 R-NATS-6 a sync request published without a reply subject (by a client that is no beehive) is delivered and owed to nobody: its module's answer is taken by no one (sendResp false) and published nowhere, while a request with one is answered on its reply subject; no request stays pending", () =>
    fc.assert(
      fc.property(
        fc.array(fc.record({ sync: fc.boolean(), withReply: fc.boolean() }), { minLength: 1, maxLength: 12 }),
        (arrivals) => {
          const sim = new SimRuntime()
          const scope = sim.run(Scope.make())
          const host = sim.run(Scope.provide(makeHost(), scope))
          const published: Array<{ readonly subject: string; readonly headers: Record<string, string> }> = []
          let deliver: (error: Error | null, msg: Msg) => void = () => {}
          const state = servingHostState(host, scope, 100, published, (callback) => {
            deliver = callback
          })
          sim.run(
            host.plug({
              type: "answers",
              open: () => Effect.die("no endpoint"),
              forwardResponse: (response: Message, from: string | undefined) =>
                state.replies.forwardResponse(response, from)
            } as ContextType)
          )
          sim.run(host.beehive.addModule("m", { capacity: 100 }))
          sim.run(state.serving.serve("m"))
          arrivals.forEach(({ sync, withReply }, i) => {
            const json = Result.getOrThrow(encodeJsonResult(msg(`q${i}`, i, { header: { sync } })))
            deliver(null, arrived(json, withReply ? replyOf(0, i) : undefined, undefined))
          })
          sim.settle()
          const taken: Array<boolean> = []
          for (const { sync } of arrivals) {
            const request = sim.run(host.beehive.receive("m"))
            if (sync)
              taken.push(
                sim.run(
                  host.beehive.sendResp(
                    msg(`a${request.header.id}`, "answer", { header: { parentId: request.header.id } }),
                    "m"
                  )
                )
              )
          }
          expect(taken, "an answer is taken exactly when its request has a reply subject").toEqual(
            arrivals.filter((a) => a.sync).map((a) => a.withReply)
          )
          // What is published goes to reply subjects only: the answers, and the counts of one-way messages (R-NATS-8).
          const replies = arrivals.flatMap(({ withReply }, i) => (withReply ? [replyOf(0, i)] : []))
          for (const { subject, headers } of published) {
            expect(replies, "published to a reply subject").toContain(subject)
            expect(headers[UndeliverableHeader]).toBeUndefined()
          }
          for (const [i, { sync, withReply }] of arrivals.entries())
            if (sync && withReply) expect(published.map((p) => p.subject)).toContain(replyOf(0, i))
          expect(sim.run(state.replies.pendingRequests)).toBe(0)
          sim.run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(200)
    ))
})

describe("R-NATS-2 serving", () => {
  it("R-NATS-2 R-NATS-4 serve needs a module registered here with another context type (ModuleNotFound otherwise, subscribing nothing); a module is subscribed once however often it is served, unsubscribed when unserved, and each change is announced", () =>
    fc.assert(
      fc.property(
        fc.array(fc.record({ serve: fc.boolean(), module: fc.constantFrom("local", "remote", "unknown") }), {
          maxLength: 12
        }),
        (steps) => {
          const sim = new SimRuntime()
          const scope = sim.run(Scope.make())
          const host = sim.run(Scope.provide(makeHost(), scope))
          const subscriptions = new Map<string, number>()
          let announced = 0
          const state = servingHostState(host, scope, 10, [], () => {})
          Object.assign(state, {
            nc: {
              subscribe: (subject: string) => {
                subscriptions.set(subject, (subscriptions.get(subject) ?? 0) + 1)
                return { unsubscribe: () => subscriptions.set(subject, (subscriptions.get(subject) ?? 0) - 1) }
              }
            },
            registry: { announce: () => Effect.sync(() => announced++) }
          })
          const publisher = new Publisher(publishingState(host, false, [], [], []), sim.run(Queue.unbounded<void>()))
          sim.run(host.plug({ type: ContextTypeNats, open: publisher.open } as ContextType))
          sim.run(host.beehive.addModule("local"))
          sim.run(host.beehive.addModule("remote", { contextType: ContextTypeNats }))
          // The model: the modules served.
          const served = new Set<string>()
          let changes = 0
          for (const { serve, module } of steps) {
            if (serve) {
              const exit = sim.run(Effect.exit(state.serving.serve(module)))
              if (module === "local") {
                expect(exit).toEqual(Exit.void)
                if (!served.has(module)) changes++
                served.add(module)
              } else expect(errorOf(exit)).toMatchObject({ _tag: "ModuleNotFound", module })
            } else {
              sim.run(state.serving.unserve(module))
              if (served.delete(module)) changes++
            }
            for (const m of ["local", "remote", "unknown"]) {
              expect(state.serving.has(m), `${m} served`).toBe(served.has(m))
              expect(subscriptions.get(`bh.mod.${m}`) ?? 0, `${m}'s subscriptions`).toBe(served.has(m) ? 1 : 0)
            }
            expect(announced).toBe(changes)
          }
          sim.run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(100)
    ))
})

describe("R-NATS-2 a served module cleaned up here", () => {
  it("R-NATS-2 R-NATS-13 R-CLEAN a served module cleaned up here stops being served at its next delivery, a single message's or a batch's (one waiting for room in its mailbox then fails ModuleClosed; a later one finds no module) or at the heartbeat, whichever comes first, even when another process's announcement registered its name here as a nats module; so does one cleaned up by the global context's shutdown", () =>
    fc.assert(
      fc.property(
        fc.boolean(),
        // What arrives before the cleanup, and next: a message alone (1), or a batch of 2 or 3.
        fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
        fc.boolean(),
        fc.constantFrom("heartbeat" as const, "arrival" as const),
        fc.integer({ min: 1, max: 3 }),
        // The module's own cleanup, or the global context's shutdown, which cleans up every module.
        fc.constantFrom("cleanup" as const, "shutdown" as const),
        (full, before, renamedIfAlive, next, nextSize, ending) => {
          const renamed = renamedIfAlive && ending === "cleanup"
          const sim = new SimRuntime()
          const scope = sim.run(Scope.make())
          const host = sim.run(Scope.provide(makeHost(), scope))
          let deliver: (error: Error | null, msg: Msg) => void = () => {}
          const state = servingHostState(host, scope, 100, [], (callback) => {
            deliver = callback
          })
          const publisher = new Publisher(publishingState(host, false, [], [], []), sim.run(Queue.unbounded<void>()))
          sim.run(host.plug({ type: ContextTypeNats, open: publisher.open } as ContextType))
          sim.run(host.beehive.addModule("m", { capacity: 1 }))
          sim.run(state.serving.serve("m"))
          if (full) sim.run(host.beehive.send("m", msg("filler")))
          let n = 0
          const arrive = (size: number) => {
            const lines = Array.from({ length: size }, (_, i) => Result.getOrThrow(encodeJsonResult(msg(`q${n}.${i}`))))
            deliver(null, arrived(lines.join("\n"), replyOf(0, n++), size === 1 ? undefined : size))
            sim.settle()
          }
          for (const size of before) arrive(size)
          // With room for one message, a delivery waits for room when more arrived than there was room for.
          const waiting = before.reduce((a, b) => a + b, 0) + (full ? 1 : 0) > 1
          sim.run(
            ending === "cleanup" ? Effect.asVoid(host.beehive.cleanup("m")) : Effect.asVoid(host.beehive.shutdown)
          )
          sim.settle()
          expect(state.serving.has("m"), "served on after the cleanup").toBe(!waiting)
          // Another process announces the name: it is registered here as a nats module (R-NATS-4).
          if (renamed) sim.run(host.beehive.addModule("m", { contextType: ContextTypeNats }))
          if (next === "arrival" && !waiting) {
            arrive(nextSize)
            // Sent to the nats module, it is delivered (until the heartbeat); with no module, it fails.
            expect(state.serving.has("m"), "served on after a delivery").toBe(renamed)
          }
          sim.run(state.serving.forgetCleanedUp)
          expect(state.serving.has("m"), "served on after the heartbeat").toBe(false)
          sim.run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(100)
    ))
})

describe("R-NATS-13 what goes in a batch", () => {
  it("R-NATS-13 R-NATS-8 R-NATS-3 one-way messages to a batching module go out in order, in batches of at most 64, within the send window's room and the payload budget (3 bytes per UTF-16 unit and a newline each), a batch of several under Beehive-Batch: <n>, one alone without it; a sync request alone, after what came before it", () =>
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            sync: fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 30, arbitrary: fc.constant(false) }),
            size: fc.oneof(
              { weight: 5, arbitrary: fc.nat({ max: 20 }) },
              { weight: 1, arbitrary: fc.nat({ max: 3000 }) }
            )
          }),
          { maxLength: 200, size: "max" }
        ),
        fc.integer({ min: 1, max: 300 }),
        fc.oneof(fc.integer({ min: 10_000, max: 60_000 }), fc.constant(1 << 20)),
        (sends, sendWindow, maxPayload) => {
          const sim = new SimRuntime()
          const scope = sim.run(Scope.make())
          const host = sim.run(Scope.provide(makeHost(), scope))
          const taken: Array<string> = []
          const publishes: Array<TakenPublish> = []
          const publisher = new Publisher(
            publishingState(host, true, [], taken, [], { sendWindow, maxPayload, publishes }),
            sim.run(Queue.unbounded<void>())
          )
          sim.run(host.plug({ type: ContextTypeNats, open: publisher.open } as ContextType))
          sim.run(host.beehive.addModule("S", { contextType: ContextTypeNats }))
          const sent = sends.map(({ sync, size }, i) => {
            const message = msg(`q${i}`, "x".repeat(size), { route: { destination: "S" } })
            if (sync) sim.fork(host.beehive.sendSync("S", message, 60_000))
            else sim.run(host.beehive.send("S", message))
            return { id: `q${i}`, sync, bytes: 3 * Result.getOrThrow(encodeJsonResult(message)).length + 1 }
          })
          sim.fork(publisher.run)
          sim.settle()
          // Nothing is acknowledged here: what went out is the first sendWindow messages, in order.
          expect(taken).toEqual(sent.slice(0, sendWindow).map(({ id }) => id))
          const byId = new Map(sent.map((s) => [s.id, s]))
          for (const { ids, batchHeader } of publishes) {
            const messages = ids.map((id) => byId.get(id) as (typeof sent)[number])
            expect(ids.length, "at most 64 in a batch").toBeLessThanOrEqual(64)
            expect(batchHeader).toBe(ids.length === 1 ? undefined : String(ids.length))
            if (ids.length > 1) {
              expect(
                messages.every(({ sync }) => !sync),
                "a sync request goes alone"
              ).toBe(true)
              expect(messages.reduce((sum, { bytes }) => sum + bytes, 0)).toBeLessThanOrEqual(maxPayload)
            }
          }
          sim.run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(150)
    ))
})

describe("R-NATS-8 the send window", () => {
  it("R-NATS-8 R-SEND-4 a sender has at most sendWindow messages to a module published and not acknowledged: an acknowledgement of n opens n places (never more than it holds), the next messages go out at once, in order, batched or not, sync requests counted as any; an acknowledgement for a module nothing was sent to changes nothing", () =>
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            {
              weight: 3,
              arbitrary: fc.record({
                kind: fc.constant("send" as const),
                count: fc.integer({ min: 1, max: 5 }),
                sync: fc.constantFrom(false, false, true)
              })
            },
            {
              weight: 2,
              arbitrary: fc.record({
                kind: fc.constant("ack" as const),
                n: fc.integer({ min: 1, max: 6 }),
                module: fc.constantFrom("S", "S", "U")
              })
            }
          ),
          { maxLength: 25 }
        ),
        fc.integer({ min: 1, max: 8 }),
        fc.boolean(),
        (steps, sendWindow, batching) => {
          const sim = new SimRuntime()
          const scope = sim.run(Scope.make())
          const host = sim.run(Scope.provide(makeHost(), scope))
          const taken: Array<string> = []
          const publisher = new Publisher(
            publishingState(host, batching, [], taken, [], { sendWindow, maxPayload: 1 << 20 }),
            sim.run(Queue.unbounded<void>())
          )
          sim.run(host.plug({ type: ContextTypeNats, open: publisher.open } as ContextType))
          sim.run(host.beehive.addModule("S", { contextType: ContextTypeNats, capacity: 1000 }))
          sim.fork(publisher.run)
          // The model, from R-NATS-8: what was sent, and how many published are not acknowledged.
          const sent: Array<string> = []
          let unacked = 0
          let published = 0
          for (const step of steps) {
            if (step.kind === "send") {
              for (let i = 0; i < step.count; i++) {
                const message = msg(`q${sent.length}`, "x", { route: { destination: "S" } })
                sent.push(message.header.id)
                if (step.sync) sim.fork(host.beehive.sendSync("S", message, 60_000))
                else sim.run(host.beehive.send("S", message))
              }
            } else {
              publisher.credited(step.module, step.n, 1)
              if (step.module === "S") unacked = Math.max(0, unacked - step.n)
            }
            sim.settle()
            const room = Math.min(sendWindow - unacked, sent.length - published)
            published += room
            unacked += room
            expect(taken, "published: every message that fits the window, in order").toEqual(sent.slice(0, published))
          }
          sim.run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(200)
    ))
})

describe("R-NATS-8 a window no acknowledgement opens", () => {
  it("R-NATS-8 a full window that no acknowledgement opened for more than missedHeartbeats × heartbeatMs is opened again at the heartbeat, reported WindowReset with what it held; the next messages then go out, a window at a time; a window not full, or not silent that long, is left alone", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 20 }),
        fc.array(fc.constantFrom(1, 1000, 2999, 3000, 3001, 5000), { maxLength: 8 }),
        (sendWindow, count, beats) => {
          const sim = new SimRuntime()
          const scope = sim.run(Scope.make())
          const host = sim.run(Scope.provide(makeHost(), scope))
          const taken: Array<string> = []
          const events: Array<NatsEvent> = []
          const publisher = new Publisher(
            publishingState(host, false, [], taken, events, { sendWindow, maxPayload: 1 << 20 }),
            sim.run(Queue.unbounded<void>())
          )
          sim.run(host.plug({ type: ContextTypeNats, open: publisher.open } as ContextType))
          sim.run(host.beehive.addModule("S", { contextType: ContextTypeNats, capacity: 32 }))
          for (let i = 0; i < count; i++) sim.run(host.beehive.send("S", msg(`q${i}`)))
          sim.fork(publisher.run)
          sim.settle()
          // The model: 3 × 1000 ms of silence (the stand-in's missedHeartbeats × heartbeatMs).
          let published = Math.min(sendWindow, count)
          let since = 0
          let resets = 0
          expect(taken.length).toBe(published)
          for (const after of beats) {
            sim.advanceBy(after)
            const now = sim.now
            publisher.reopenStalled(now)
            sim.settle()
            const held = published - resets * sendWindow
            if (held >= sendWindow && now - since > 3000) {
              resets++
              since = now
              expect(events.at(-1)).toEqual({ _tag: "WindowReset", module: "S", unacked: sendWindow })
              published = Math.min(published + sendWindow, count)
            }
            expect(events.filter((e) => e._tag === "WindowReset").length, `at ${now}`).toBe(resets)
            expect(taken.length, `published at ${now}`).toBe(published)
          }
          expect(taken).toEqual(Array.from({ length: published }, (_, i) => `q${i}`))
          sim.run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(200)
    ))
})

describe("R-NATS-8 a window's silence counts from when it began to fill or was last acknowledged", () => {
  it("R-NATS-8 R-NATS-12 R-NATS-13 a window is opened again only after missedHeartbeats × heartbeatMs without an acknowledgement since it began to fill or was last acknowledged, whether its messages go alone, in batches or to a durable module's stream; one that filled after a long idle is not opened early", () =>
    fc.assert(
      fc.property(
        fc.constantFrom("alone" as const, "batches" as const, "durable" as const),
        fc.integer({ min: 1, max: 4 }),
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant("send" as const), count: fc.integer({ min: 1, max: 6 }) }),
            fc.record({ kind: fc.constant("ack" as const), n: fc.integer({ min: 1, max: 6 }) }),
            fc.record({
              kind: fc.constant("beat" as const),
              after: fc.constantFrom(1, 1000, 2999, 3000, 3001, 5000, 20_000)
            })
          ),
          { maxLength: 20 }
        ),
        (mode, sendWindow, steps) => {
          const sim = new SimRuntime()
          const scope = sim.run(Scope.make())
          const host = sim.run(Scope.provide(makeHost(), scope))
          const taken: Array<string> = []
          const events: Array<NatsEvent> = []
          const state = publishingState(host, mode === "batches", [], taken, events, {
            sendWindow,
            maxPayload: 1 << 20
          })
          if (mode === "durable") {
            // The stream stands in: it takes each one-way message at once (its answer is an acknowledgement).
            Object.assign(state, {
              durable: {
                has: () => true,
                closed: () => {},
                store: (_endpoint: unknown, message: Message) =>
                  Effect.sync(() => {
                    taken.push(message.header.id)
                  })
              }
            })
          }
          const publisher = new Publisher(state, sim.run(Queue.unbounded<void>()))
          sim.run(host.plug({ type: ContextTypeNats, open: publisher.open } as ContextType))
          sim.run(host.beehive.addModule("S", { contextType: ContextTypeNats, capacity: 1000 }))
          sim.fork(publisher.run)
          // The model, from R-NATS-8: messages waiting, those out and not acknowledged, and since when
          // the window has been silent (it began to fill, or an acknowledgement came).
          let waiting = 0
          let sent = 0
          let unacked = 0
          let since = 0
          let resets = 0
          const publish = (now: number) => {
            while (waiting > 0 && unacked < sendWindow) {
              if (unacked === 0) since = now
              unacked++
              waiting--
            }
          }
          for (const step of steps) {
            const now = sim.now
            if (step.kind === "send") {
              for (let i = 0; i < step.count; i++) sim.run(host.beehive.send("S", msg(`q${sent++}`)))
              waiting += step.count
              sim.settle()
              publish(now)
            } else if (step.kind === "ack") {
              publisher.credited("S", step.n, now)
              sim.settle()
              if (unacked > 0 || waiting > 0) {
                unacked = Math.max(0, unacked - step.n)
                since = now
              }
              publish(now)
            } else {
              sim.advanceBy(step.after)
              const later = sim.now
              publisher.reopenStalled(later)
              sim.settle()
              if (unacked >= sendWindow && later - since > 3000) {
                resets++
                unacked = 0
                since = later
                publish(later)
              }
            }
            expect(events.filter((e) => e._tag === "WindowReset").length, `resets at ${sim.now}`).toBe(resets)
            expect(taken.length, `published at ${sim.now}`).toBe(sent - waiting)
          }
          sim.run(Scope.close(scope, Exit.void))
        }
      ),
      fcParams(800)
    ))
})

describe("R-NATS-4 R-NATS-12 a remote module declared by racing callers", () => {
  it("R-NATS-4 R-NATS-12 R-MOD-2 callers racing to declare one nats module (durable or not) under any schedule: the publisher knows the endpoint registered, whatever endpoints the others opened and closed, and the closing of theirs ends none of its sendDurable calls", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 3 }),
        fc.boolean(),
        fc.nat(),
        arbPreemption([0.3, 0.6]),
        (callers, durable, seed, preemption) =>
          underPreemption(seed, preemption, (strategy) => {
            const sim = new SimRuntime({ strategy })
            const scope = sim.run(Scope.make())
            const host = sim.run(Scope.provide(makeHost(), scope))
            const durableClosed: Array<string> = []
            const publisher = new Publisher(
              {
                host,
                processId: "self",
                subjects: subjects("t"),
                maxPayload: () => 1 << 20,
                durable: { has: () => durable, closed: (module: string) => durableClosed.push(module) }
              } as unknown as NatsState,
              sim.run(Queue.unbounded<void>())
            )
            sim.run(host.plug({ type: ContextTypeNats, open: publisher.open } as ContextType))
            const adds = Array.from({ length: callers }, () =>
              sim.fork(Effect.exit(host.beehive.addModule("S", { contextType: ContextTypeNats })))
            )
            sim.settle()
            const exits = adds.map((fiber) => sim.run(Fiber.join(fiber)))
            expect(exits.filter(Exit.isSuccess).length, "callers that added S").toBe(1)
            // What is sent to S is in the outbox of the endpoint the publisher knows for S.
            sim.run(host.beehive.send("S", msg("m1")))
            const known = publisher.endpoints.get("S")
            expect(known?.isOpen, "the publisher knows an open endpoint for S").toBe(true)
            expect(known?.outgoing, "the message sent to S is in it").toBe(1)
            expect(durableClosed, "sendDurable calls ended by a closing").toEqual([])
            sim.run(host.beehive.cleanup("S"))
            expect(publisher.endpoints.has("S")).toBe(false)
            expect(durableClosed).toEqual(["S"])
            sim.run(Scope.close(scope, Exit.void))
          })
      ),
      fcParams(200)
    ))
})
