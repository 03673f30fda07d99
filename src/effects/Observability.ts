/**
 * Spans and metrics of the beehive operations (R-OBS-*), for Effect's tracer and metric registry.
 *
 * - Spans (`beehive.send`, `beehive.sendSync`, ...) with the module, group and message id as attributes
 *   are made only when a tracer is installed (`Tracer.Tracer` other than Effect's in-memory native
 *   tracer, e.g. an OpenTelemetry exporter's): with none, an operation runs exactly as without
 *   tracing, no span object, no extra step.
 * - Metrics are recorded only when the context was built with `metrics: true`: counters of messages
 *   sent, received and undeliverable, a gauge of pending sync calls, and a histogram of sendSync
 *   latency in ms.
 *
 * @since 0.2.0
 */
import { Effect, Effectable, type Fiber, Metric, Tracer } from "effect"

/** The metric names, with their `beehive_` prefix. @category constants */
export const MetricNames = {
  sent: "beehive_messages_sent_total",
  received: "beehive_messages_received_total",
  undeliverable: "beehive_messages_undeliverable_total",
  pendingCalls: "beehive_pending_calls",
  sendSyncLatency: "beehive_sendsync_latency_ms"
} as const

/** The metrics of one context. @category models */
export interface BeehiveMetrics {
  readonly sent: Metric.Counter<number>
  readonly received: Metric.Counter<number>
  readonly undeliverable: Metric.Counter<number>
  readonly pendingCalls: Metric.Gauge<number>
  readonly sendSyncLatency: Metric.Histogram<number>
}

/** The metrics a context records when built with `metrics: true`. @category constructors */
export const makeMetrics = (): BeehiveMetrics => ({
  sent: Metric.counter(MetricNames.sent, {
    description: "messages accepted by send, sendSync and group sends (one per copy)",
    incremental: true
  }),
  received: Metric.counter(MetricNames.received, { description: "messages taken by receive", incremental: true }),
  undeliverable: Metric.counter(MetricNames.undeliverable, {
    description: "messages a cleanup took unreceived from a mailbox or an unwritten outbox",
    incremental: true
  }),
  pendingCalls: Metric.gauge(MetricNames.pendingCalls, { description: "sync calls waiting for responses" }),
  sendSyncLatency: Metric.histogram(MetricNames.sendSyncLatency, {
    description: "time from sendSync's start to its end, in ms (virtual time under the deterministic runtime)",
    boundaries: Metric.exponentialBoundaries({ start: 0.05, factor: 2, count: 20 })
  })
})

/** Whether a tracer that exports spans is installed for `fiber`. @category predicates */
export const isTracing = (fiber: Fiber.Fiber<unknown, unknown>): boolean =>
  fiber.getRef(Tracer.Tracer) !== Tracer.nativeTracer

/**
 * Runs `body` with its fiber, in a span named `name` when a tracer is installed (`attributes` are then
 * computed; undefined values are left out). With no tracer it is `body(fiber)` in one step: tracing
 * that is off costs one reference read.
 *
 * @category combinators
 */
export const observe = <A, E, R>(
  name: string,
  attributes: () => Record<string, string | number | undefined>,
  body: (fiber: Fiber.Fiber<unknown, unknown>) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => observeWith(operation(name, attributes, body), undefined, undefined, undefined)

/** What `observeWith` reads a call's span attributes from: its arguments. @category models */
export type Attributes<X, Y, Z> = (x: X, y: Y, z: Z) => Record<string, string | number | undefined>

/** An operation's body: its fiber and its arguments to the effect it runs. @category models */
export type Body<X, Y, Z, A, E, R> = (fiber: Fiber.Fiber<unknown, unknown>, x: X, y: Y, z: Z) => Effect.Effect<A, E, R>

/**
 * One operation of a context (send, receive, ...), made once with the context: its span's name and
 * attributes, its body, and what it last found about tracing. A context is immutable and the fibers of
 * one program mostly share one, so the lookup of a tracer that is not there (about a seventh of a send
 * and a receive) is made once per context met in a row; the operation holds that context only as
 * long as it lives.
 *
 * @category models
 */
export interface Operation<X, Y, Z, A, E, R> {
  readonly name: string
  readonly attributes: Attributes<X, Y, Z>
  readonly body: Body<X, Y, Z, A, E, R>
  lastContext: unknown
  tracing: boolean
}

/** An operation; see `Operation`. @category constructors */
export const operation = <X, Y, Z, A, E, R>(
  name: string,
  attributes: Attributes<X, Y, Z>,
  body: Body<X, Y, Z, A, E, R>
): Operation<X, Y, Z, A, E, R> => ({ name, attributes, body, lastContext: undefined, tracing: false })

/**
 * `observe` for the hot paths (send, receive, sendSync, sendResp, receiveAll): the operation is made
 * once, not per call, and its body and attributes get the call's arguments, so that a call allocates
 * only the effect it returns, one object of four fields; the attributes are computed only when a
 * tracer is installed.
 *
 * @category combinators
 */
export const observeWith = <X, Y, Z, A, E, R>(
  operation: Operation<X, Y, Z, A, E, R>,
  x: X,
  y: Y,
  z: Z
): Effect.Effect<A, E, R> => new Observed(operation, x, y, z) as unknown as Effect.Effect<A, E, R>

// An operation of its own, as `Effect.withFiber` would be, but one object per call: a `withFiber` is a
// closure over the arguments and an effect around it, and a send or a receive is little more than that
// (measured: send → receiveAll 6.3–6.5 → 6.8–6.9 M msgs/s). Evaluated in one step, like `withFiber`,
// so schedules recorded before replay the same (test/regressions).
class Observed<X, Y, Z, A, E, R> {
  readonly operation: Operation<X, Y, Z, A, E, R>
  readonly x: X
  readonly y: Y
  readonly z: Z

  constructor(operation: Operation<X, Y, Z, A, E, R>, x: X, y: Y, z: Z) {
    this.operation = operation
    this.x = x
    this.y = y
    this.z = z
  }

  run(fiber: Fiber.Fiber<unknown, unknown>): Effect.Effect<A, E, R> {
    const { operation, x, y, z } = this
    const context = fiber.context
    if (operation.lastContext !== context) {
      operation.tracing = isTracing(fiber)
      operation.lastContext = context
    }
    return operation.tracing ? traced(operation, fiber, x, y, z) : operation.body(fiber, x, y, z)
  }
}

// A function of its own: `run` would otherwise allocate the closure's context on every call, traced or not.
const traced = <X, Y, Z, A, E, R>(
  operation: Operation<X, Y, Z, A, E, R>,
  fiber: Fiber.Fiber<unknown, unknown>,
  x: X,
  y: Y,
  z: Z
): Effect.Effect<A, E, R> => inSpan(operation.name, operation.attributes(x, y, z), () => operation.body(fiber, x, y, z))

Object.setPrototypeOf(
  Observed.prototype,
  Effectable.Prototype<Effect.Effect<unknown, unknown, unknown>>({
    label: "beehive.observed",
    evaluate(fiber) {
      return (this as unknown as Observed<unknown, unknown, unknown, unknown, unknown, unknown>).run(fiber)
    }
  })
)

const inSpan = <A, E, R>(
  name: string,
  given: Record<string, string | number | undefined>,
  body: () => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => {
  const defined: Record<string, string | number> = {}
  for (const key in given) {
    const value = given[key]
    if (value !== undefined) defined[key] = value
  }
  return Effect.withSpan(Effect.suspend(body), name, { attributes: defined, captureStackTrace: false })
}

/**
 * The messages of a receive counted received when called (R-OBS-2): what a receive hands over to count
 * them once its messages reach the receiver. A function of its own, so that the closure is made only
 * by the receives that count (a function that makes a closure over its parameters allocates a context
 * for them on every call, whichever branch it takes).
 *
 * @category combinators
 */
export const countReceived =
  (fiber: Fiber.Fiber<unknown, unknown>, metrics: BeehiveMetrics, count: number) => (): void =>
    recordUnsafe(fiber, metrics.received, count)

/** Adds `amount` to a counter, or sets a gauge, or records in a histogram, in the fiber's registry. @category combinators */
export const recordUnsafe = <I>(
  fiber: Fiber.Fiber<unknown, unknown>,
  metric: Metric.Metric<I, unknown> | undefined,
  input: I
): void => {
  metric?.updateUnsafe(input, fiber.context)
}
