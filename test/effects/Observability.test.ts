import { Effect, Exit, Fiber, Layer, Metric, Tracer } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import { Beehive, type BeehiveOptions } from "../../src/contexts/Beehive.ts"
import { MetricNames } from "../../src/effects/Observability.ts"
import * as Message from "../../src/model/Message.ts"
import { msg, settle } from "../support/messages.ts"
import { recordingTracer } from "../support/tracer.ts"

const run = <A, E>(body: Effect.Effect<A, E, Beehive>, options: BeehiveOptions = {}) =>
  Effect.runPromise(
    body.pipe(Effect.provide(Layer.merge(Beehive.layerWith(options), TestClock.layer()))) as Effect.Effect<A, E>
  )

/** Every operation once: a module answers a sync call and a group sync; one message stays unreceived. */
const workload = Effect.gen(function* () {
  const b = yield* Beehive
  yield* b.addModule("a")
  yield* b.addModule("b")
  yield* b.addModuleGroup("b", "g")
  const answering = yield* Effect.forkChild(
    Effect.gen(function* () {
      for (let i = 0; i < 2; i++) {
        const request = yield* b.receive("b")
        yield* b.sendResp(yield* Message.newResponse(request, "ok"), "b")
      }
    })
  )
  yield* b.sendSync("b", msg("q1"), 1000)
  yield* b.sendToGroupSync("g", msg("q2"), 1000)
  yield* Fiber.join(answering)
  yield* b.send("a", msg("m1"))
  yield* b.send("a", msg("m2"))
  yield* b.receive("a")
  yield* b.sendToGroup("g", msg("m3"))
  yield* settle
  return yield* b.cleanup("a")
})

describe("R-OBS observability", () => {
  it("R-OBS-1 with a tracer installed, every operation is a span named after it, with module, group and message id", async () => {
    const { tracer, spans } = recordingTracer()
    await run(workload.pipe(Effect.withTracer(tracer)))
    const names = new Set(spans.map((s) => s.name))
    for (const name of [
      "beehive.addModule",
      "beehive.addModuleGroup",
      "beehive.send",
      "beehive.receive",
      "beehive.sendSync",
      "beehive.sendResp",
      "beehive.sendToGroup",
      "beehive.sendToGroupSync",
      "beehive.cleanup"
    ]) {
      expect(names, name).toContain(name)
    }
    const attributes = (name: string) =>
      spans.filter((s) => s.name === name).map((s) => Object.fromEntries(s.attributes))
    expect(attributes("beehive.sendSync")).toEqual([{ "beehive.module": "b", "beehive.message.id": "q1" }])
    expect(attributes("beehive.sendToGroupSync")).toEqual([{ "beehive.group": "g", "beehive.message.id": "q2" }])
    expect(attributes("beehive.send")).toContainEqual({ "beehive.module": "a", "beehive.message.id": "m1" })
    expect(attributes("beehive.addModuleGroup")).toEqual([{ "beehive.module": "b", "beehive.group": "g" }])
    const sendSyncSpan = spans.find((s) => s.name === "beehive.sendSync")
    expect(sendSyncSpan?.status._tag).toBe("Ended")
    // A failed operation's span ends with its failure.
    spans.length = 0
    await run(Effect.exit(Effect.flatMap(Beehive, (b) => b.send("ghost", msg("x"))).pipe(Effect.withTracer(tracer))))
    const failed = spans.find((s) => s.name === "beehive.send")
    expect(failed?.status._tag === "Ended" && Exit.isFailure(failed.status.exit)).toBe(true)
  })

  it("R-OBS-1 without a tracer, no span is made", async () => {
    // Effect's native tracer is the default: count the spans it is asked for.
    const native = Tracer.nativeTracer as { span: Tracer.Tracer["span"] }
    const original = native.span
    let made = 0
    native.span = (options) => {
      made++
      return original.call(Tracer.nativeTracer, options)
    }
    try {
      await run(workload)
      expect(made).toBe(0)
      await Effect.runPromise(Effect.withSpan(Effect.void, "a span of the test's own"))
      expect(made).toBe(1)
    } finally {
      native.span = original
    }
  })

  it("R-OBS-2 with metrics on, messages sent, received and undeliverable, pending calls and sendSync latency are recorded", async () => {
    const values = await run(
      Effect.gen(function* () {
        const report = yield* workload
        const snapshot = yield* Metric.snapshot
        const find = (name: string) => snapshot.find((m) => m.id === name)?.state as Record<string, unknown> | undefined
        return { report, find }
      }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())),
      { metrics: true }
    )
    // Sent: q1, q2's one copy, m1, m2, m3's one copy.
    expect(values.find(MetricNames.sent)).toMatchObject({ count: 5 })
    // Received: q1, q2 by b; m1 by a.
    expect(values.find(MetricNames.received)).toMatchObject({ count: 3 })
    // Undeliverable: m2, still in a's mailbox at its cleanup.
    expect(values.report.undelivered.map((m) => m.header.id)).toEqual(["m2"])
    expect(values.find(MetricNames.undeliverable)).toMatchObject({ count: 1 })
    expect(values.find(MetricNames.pendingCalls)).toMatchObject({ value: 0 })
    expect(values.find(MetricNames.sendSyncLatency)).toMatchObject({ count: 2 })
  })

  it("R-OBS-2 with metrics off (the default), nothing is recorded", async () => {
    const snapshot = await run(
      Effect.andThen(workload, Metric.snapshot).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
    )
    expect(snapshot.filter((m) => m.id.startsWith("beehive_"))).toEqual([])
  })
})
