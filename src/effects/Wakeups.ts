/**
 * Wake-ups held back until a step that changes several things has changed all of them. Waking a
 * fiber runs it at once (Effect resumes callbacks inline), so a step such as a cleanup, which closes a
 * mailbox, fails dropped requests and tells group calls a member is gone, collects its wake-ups here
 * and runs them only when every part of its state is final.
 *
 * @since 0.1.0
 * @internal
 */

/**
 * A batch of held-back wake-ups.
 *
 * @category models
 */
export class Wakeups {
  private readonly pending: Array<() => void> = []

  /** Holds `wake` until `flush`. */
  add(wake: () => void): void {
    this.pending.push(wake)
  }

  /** Runs every held wake-up, in the order they were added (including any added meanwhile). */
  flush(): void {
    for (let wake = this.pending.shift(); wake !== undefined; wake = this.pending.shift()) wake()
  }
}

/** Runs `wake` now, or holds it in `wakeups` when one is given. @category combinators */
export const wakeNowOr = (wakeups: Wakeups | undefined, wake: () => void): void => {
  if (wakeups === undefined) wake()
  else wakeups.add(wake)
}
