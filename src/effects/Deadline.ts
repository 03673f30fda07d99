/**
 * Waiting on armed waits, with or without a deadline. Deadlines are absolute times in milliseconds
 * on the Effect `Clock`, so the virtual clock of the deterministic runtime drives them like any other
 * sleep; the wait never ends before its deadline (a live timer that fires early sleeps again).
 *
 * @since 0.1.0
 * @internal
 */
import { Clock, Context, Effect, type Exit, type Fiber } from "effect"
import type { Arm } from "./Arm.ts"
import { liveTimers } from "./TimerQueue.ts"

/**
 * Completes when the clock reads `deadline` or later.
 *
 * @category constructors
 */
export const sleepUntil = (deadline: number): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    now >= deadline ? Effect.void : Effect.flatMap(Effect.sleep(deadline - now), () => sleepUntil(deadline))
  )

type Timer = (expire: () => void) => { readonly interruptUnsafe: () => void }

const awaitWith = <A, E>(
  fiber: Fiber.Fiber<unknown, unknown>,
  arm: Arm<A, E>,
  timer?: Timer,
  onDeadline?: () => Exit.Exit<A, E>,
  onInterrupt?: () => void
): Effect.Effect<A, E> =>
  Effect.callback<A, E>((resume) => {
    let settled = false
    let running: { readonly interruptUnsafe: () => void } | undefined
    const settle = (exit: Exit.Exit<A, E>) => {
      if (settled) return
      settled = true
      running?.interruptUnsafe()
      resume(exit)
    }
    const later = (exit: Exit.Exit<A, E>) => fiber.currentDispatcher.scheduleTask(() => settle(exit), 0)
    const armed = arm(Object.assign(settle, { later }))
    if (typeof armed !== "function") {
      settled = true
      resume(armed)
      return
    }
    // Arming can wake a fiber that completes the wait at once: then no timer is needed.
    if (settled) return
    if (timer !== undefined && onDeadline !== undefined) {
      running = timer(() => {
        if (settled) return
        settled = true
        armed()
        resume(onDeadline())
      })
    }
    // An interruption withdraws the wait in the operation after the one it arrives in (Effect runs a
    // callback's canceller as an operation of its own): an outcome handed over in between was
    // accepted and is dropped with the interrupted wait (R-GLOBAL-6). Effect's abort signal would
    // close that window, at about 8 µs a wait (measured: sendSync 83 k/s → 35 k/s).
    return Effect.sync(() => {
      settled = true
      running?.interruptUnsafe()
      armed()
      onInterrupt?.()
    })
  })

/** Effect's own clock, the one a fiber reads unless a test clock or the virtual clock is provided. */
let liveClock: Clock.Clock | undefined

// On Effect's own clock, whose sleep is a `setTimeout` anyway, the timer is one of `liveTimers`: a
// timer fiber per wait (started, then interrupted when the wait ends first, as most do) cost about half
// of a `sendSync` whose caller waits, and a `setTimeout` per wait, cleared at once, about an eighth.
// Any other clock (test clocks, the deterministic runtime's virtual clock) drives the timer through a
// fiber that sleeps on it.
const timerOn = (fiber: Fiber.Fiber<unknown, unknown>, deadline: number, readAt: number | undefined): Timer => {
  const clock = fiber.getRef(Clock.Clock)
  liveClock ??= Context.get(Context.empty(), Clock.Clock)
  const now = readAt ?? clock.currentTimeMillisUnsafe()
  if (clock !== liveClock || now >= deadline) {
    return (expire) => Effect.runForkWith(fiber.context)(Effect.andThen(sleepUntil(deadline), Effect.sync(expire)))
  }
  return (expire) => {
    // A live timer may fire early (its clock is monotonic, this one is not): it sleeps again until
    // this clock reads the deadline.
    const fire = () => {
      const left = deadline - clock.currentTimeMillisUnsafe()
      if (left > 0) wait = liveTimers.start(left, fire)
      else expire()
    }
    let wait = liveTimers.start(deadline - now, fire)
    return { interruptUnsafe: () => wait.withdraw() }
  }
}

/**
 * Waits for an armed wait; interrupting the waiting fiber withdraws the arm.
 *
 * @category combinators
 */
export const awaitArm = <A, E>(arm: Arm<A, E>): Effect.Effect<A, E> =>
  Effect.withFiber((fiber) => awaitWith(fiber, arm))

/**
 * Waits for an armed wait until `deadline`. When the arm cannot complete at once, a timer fiber
 * sharing the caller's clock and scheduler is started; at the deadline the arm is withdrawn and the
 * result is `onDeadline()`, computed in that same step so nothing can slip in between. Interrupting
 * the waiting fiber withdraws the arm, stops the timer and runs `onInterrupt` (in the operation after
 * the interruption arrives). `readAt` is the clock's reading `deadline` was worked out from, when it
 * was read in the same step: waits of one timeout then share a timer (see `TimerQueue`).
 *
 * @category combinators
 */
export const awaitArmUntil = <A, E>(
  arm: Arm<A, E>,
  deadline: number,
  onDeadline: () => Exit.Exit<A, E>,
  onInterrupt?: () => void,
  readAt?: number
): Effect.Effect<A, E> =>
  Effect.withFiber((fiber) => awaitArmUntilOn(fiber, arm, deadline, onDeadline, onInterrupt, readAt))

/**
 * `awaitArmUntil` for a caller that has its fiber already (an operation's body): the wait itself, with
 * no step before it, so that `arm` runs in the step that suspends the fiber. What `arm` does when
 * armed (registering a call, offering its request) then has no step between it and the wait in which
 * an interruption could come.
 *
 * @category combinators
 */
export const awaitArmUntilOn = <A, E>(
  fiber: Fiber.Fiber<unknown, unknown>,
  arm: Arm<A, E>,
  deadline: number,
  onDeadline: () => Exit.Exit<A, E>,
  onInterrupt?: () => void,
  readAt?: number
): Effect.Effect<A, E> => awaitWith(fiber, arm, timerOn(fiber, deadline, readAt), onDeadline, onInterrupt)
