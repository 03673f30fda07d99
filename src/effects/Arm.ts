/**
 * Armed waits: the small protocol every blocking building block (mailbox, reply slot, group
 * collector) speaks, so that one operation can wait on several of them and on a deadline at once,
 * without a fiber per branch.
 *
 * Arming either completes at once (returns an `Exit` and never calls `settle`), or registers `settle`
 * and returns a canceller (`settle` may then already have been called, by a fiber that arming woke).
 * `settle` is called at most once. The canceller is idempotent; called after
 * `settle` (the waiting fiber was interrupted before it could use the value), it undoes what can be
 * undone (a mailbox gives a handed message back).
 *
 * @since 0.1.0
 * @internal
 */
import { Exit } from "effect"

/**
 * Completes an armed wait. Calling it runs the waiting fiber at once (Effect resumes inline);
 * `later`, when present, completes it from a scheduler task instead, so that the caller keeps
 * running and the woken fiber finds more work waiting when it runs (batching).
 *
 * @category models
 */
export interface Settle<A, E> {
  (exit: Exit.Exit<A, E>): void
  readonly later?: ((exit: Exit.Exit<A, E>) => void) | undefined
}

/** Withdraws an armed wait. @category models */
export type Cancel = () => void

/** An armed wait; see the module documentation. @category models */
export type Arm<A, E> = (settle: Settle<A, E>) => Exit.Exit<A, E> | Cancel

/**
 * An arm whose outcome is transformed by `f` (applied to successes and failures alike). The waiter is
 * completed at once, never `later`: `f` runs as the outcome is handed over, and the waiter has it in
 * the same step, so nothing `f` did (a message counted handed out, acknowledged) can be undone by a
 * withdrawal in between.
 *
 * @category combinators
 */
export const mapExit =
  <A, E, B, E2>(arm: Arm<A, E>, f: (exit: Exit.Exit<A, E>) => Exit.Exit<B, E2>): Arm<B, E2> =>
  (settle) => {
    const armed = arm((exit) => settle(f(exit)))
    return typeof armed === "function" ? armed : f(armed)
  }

/**
 * An arm that calls `accepted` when `arm` succeeds, as its outcome is handed over, and wakes its
 * waiter as `arm` would have (`later` included). For an outcome that stays done when the waiter is
 * withdrawn before it runs: an offer accepted (R-SEND-3).
 *
 * @category combinators
 */
export const onSuccess =
  <A, E>(arm: Arm<A, E>, accepted: () => void): Arm<A, E> =>
  (settle) => {
    const later = settle.later
    const counted = (exit: Exit.Exit<A, E>) => {
      if (Exit.isSuccess(exit)) accepted()
      return exit
    }
    const observed: Settle<A, E> =
      later === undefined
        ? (exit) => settle(counted(exit))
        : Object.assign((exit: Exit.Exit<A, E>) => settle(counted(exit)), {
            later: (exit: Exit.Exit<A, E>) => later(counted(exit))
          })
    const armed = arm(observed)
    return typeof armed === "function" ? armed : counted(armed)
  }

/**
 * Waits on both arms; the first to complete wins and the other is withdrawn. `left` is armed first,
 * so it wins when both can complete at once, and when arming `right` wakes a fiber that completes
 * `left` (waking runs fibers inline).
 *
 * @category combinators
 */
export const first =
  <A, E>(left: Arm<A, E>, right: Arm<A, E>): Arm<A, E> =>
  (settle) => {
    let done = false
    let cancelRight: Cancel | undefined
    const armedLeft = left((exit) => {
      if (done) return
      done = true
      cancelRight?.()
      settle(exit)
    })
    if (typeof armedLeft !== "function") return armedLeft
    const armedRight = right((exit) => {
      if (done) return
      done = true
      armedLeft()
      settle(exit)
    })
    if (done) {
      // `left` completed while `right` was being armed: `right` loses, and `settle` has been called.
      if (typeof armedRight === "function") armedRight()
      return armedLeft
    }
    if (typeof armedRight !== "function") {
      done = true
      armedLeft()
      return armedRight
    }
    cancelRight = armedRight
    return () => {
      armedLeft()
      armedRight()
    }
  }

/**
 * An arm that completes at once with `exit`.
 *
 * @category constructors
 */
export const done =
  <A, E>(exit: Exit.Exit<A, E>): Arm<A, E> =>
  () =>
    exit

/**
 * Waits for every arm to complete and returns all their outcomes, in order. Never fails; withdrawing
 * it withdraws the arms still waiting.
 *
 * @category combinators
 */
export const all =
  <A, E>(arms: ReadonlyArray<Arm<A, E>>): Arm<Array<Exit.Exit<A, E>>, never> =>
  (settle) => {
    const outcomes: Array<Exit.Exit<A, E> | undefined> = new Array(arms.length)
    const cancels: Array<Cancel> = []
    let waiting = 0
    let armed = false
    const finish = () => settle(Exit.succeed(outcomes as Array<Exit.Exit<A, E>>))
    arms.forEach((arm, i) => {
      const r = arm((exit) => {
        outcomes[i] = exit
        if (--waiting === 0 && armed) finish()
      })
      if (typeof r === "function") {
        waiting++
        cancels.push(r)
      } else {
        outcomes[i] = r
      }
    })
    armed = true
    if (waiting === 0) return Exit.succeed(outcomes as Array<Exit.Exit<A, E>>)
    return () => {
      for (const cancel of cancels) cancel()
    }
  }

/**
 * Arms `arm` now, in the caller's step, and returns an arm that waits for its outcome: an outcome
 * that comes before anyone waits is kept for the first waiter. So an operation can join a line in
 * the step that decided to (a broadcast's copy takes its place in a full member's queue in the step
 * that read the group) and wait in a later one. Withdrawing the returned arm, or calling the canceller it
 * hands back, withdraws `arm`; the canceller (second element) is for a caller that never waits.
 *
 * @category combinators
 */
export const armNow = <A, E>(arm: Arm<A, E>): readonly [Arm<A, E>, Cancel] => {
  let outcome: Exit.Exit<A, E> | undefined
  let waiter: Settle<A, E> | undefined
  // Whether a waiter has the outcome: until then, withdrawing undoes what `arm` can undo.
  let taken = false
  const complete = (exit: Exit.Exit<A, E>, later: boolean) => {
    if (outcome !== undefined) return
    outcome = exit
    const w = waiter
    waiter = undefined
    if (w === undefined) return
    taken = true
    ;(later && w.later !== undefined ? w.later : w)(exit)
  }
  const armed = arm(
    Object.assign((exit: Exit.Exit<A, E>) => complete(exit, false), {
      later: (exit: Exit.Exit<A, E>) => complete(exit, true)
    })
  )
  if (typeof armed !== "function") outcome = armed
  const withdraw: Cancel = () => {
    waiter = undefined
    if (typeof armed === "function" && !taken) armed()
  }
  const waiting: Arm<A, E> = (settle) => {
    if (outcome !== undefined) {
      taken = true
      return outcome
    }
    waiter = settle
    return withdraw
  }
  return [waiting, withdraw]
}
