/**
 * Handing a value taken from a buffer to the caller without losing it to an interruption.
 *
 * Effect may stop a fiber between two of its operations: a scheduler's yield can land there (Effect's
 * own scheduler yields every 2,048 operations; the deterministic runtime preempts where its strategy
 * says), and an interruption that comes during the yield ends the fiber. A receive that took its
 * message in one operation and returned it in the next lost it then (found by bounded exhaustive
 * exploration once a receiver was interrupted while its module was cleaned up, R-RECV-4).
 *
 * `handOff` keeps the taken value in a slot of the fiber and returns an effect that empties the slot
 * in the operation that passes the value on (Effect's `sync` hands its result straight to the
 * caller's continuation). A value still in the slot when the fiber ends, or when it takes again (it
 * can only do so in a finalizer after an interruption), never reached the caller: it is given back,
 * before the new take (`giveBackHeld`), so that what it took comes back in order.
 * One slot and one observer per fiber, made on its first hand-off.
 *
 * @since 0.1.0
 * @internal
 */
import { Effect, type Fiber } from "effect"

interface Slot {
  value: unknown
  giveBack: ((value: never) => void) | undefined
  delivered: ((value: never) => void) | undefined
  readonly deliver: Effect.Effect<unknown>
}

const slots = new WeakMap<Fiber.Fiber<unknown, unknown>, Slot>()

// How many slots hold a value not yet handed over: none, nearly always, and then `giveBackHeld`
// looks nothing up.
let held = 0

const returnUndelivered = (slot: Slot): void => {
  const giveBack = slot.giveBack
  if (giveBack === undefined) return
  held--
  const value = slot.value
  slot.value = undefined
  slot.giveBack = undefined
  slot.delivered = undefined
  giveBack(value as never)
}

// The lookup and the making are two functions: one that makes closures over a variable allocates a
// context for it on every call, also when it returns early (measured: 40 bytes a receive).
const slotOf = (fiber: Fiber.Fiber<unknown, unknown>): Slot => slots.get(fiber) ?? newSlot(fiber)

const newSlot = (fiber: Fiber.Fiber<unknown, unknown>): Slot => {
  const slot: Slot = {
    value: undefined,
    giveBack: undefined,
    delivered: undefined,
    deliver: Effect.sync(() => {
      if (slot.giveBack !== undefined) held--
      const value = slot.value
      const delivered = slot.delivered
      slot.value = undefined
      slot.giveBack = undefined
      slot.delivered = undefined
      delivered?.(value as never)
      return value
    })
  }
  fiber.addObserver(() => returnUndelivered(slot))
  slots.set(fiber, slot)
  return slot
}

/**
 * Returns an effect that hands `value`, just taken by `fiber`, to the caller; if `fiber` is stopped
 * before that effect runs, `giveBack(value)` is called when it ends. `delivered(value)`, if given, is
 * called in the operation that hands the value over, and only then: what is counted as handed over
 * was (an operation after the hand-over would be a step in which the fiber can be stopped with the
 * value in flight). Call it in the operation that took the value, and return its effect as the last
 * one of the operation. Never blocks, never fails.
 *
 * @category combinators
 */
export const handOff = <A>(
  fiber: Fiber.Fiber<unknown, unknown>,
  value: A,
  giveBack: (value: A) => void,
  delivered?: (value: A) => void
): Effect.Effect<A> => {
  const slot = slotOf(fiber)
  returnUndelivered(slot)
  held++
  slot.value = value
  slot.giveBack = giveBack as (value: never) => void
  slot.delivered = delivered as ((value: never) => void) | undefined
  return slot.deliver as Effect.Effect<A>
}

/**
 * Gives back what `fiber` took and never handed over (it was stopped in between, and now takes again
 * in a finalizer), before it takes anything else: given back after the next take, the value would
 * reach its buffer's head behind the one taken, out of order (R-RECV-4, R-SEND-4). Call it in the
 * operation that takes, before taking. Never blocks, never fails.
 *
 * @category combinators
 */
export const giveBackHeld = (fiber: Fiber.Fiber<unknown, unknown>): void => {
  if (held === 0) return
  const slot = slots.get(fiber)
  if (slot !== undefined) returnUndelivered(slot)
}
