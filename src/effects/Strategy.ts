/**
 * Scheduling strategies for the deterministic runtime: who runs next among the ready tasks, and
 * whether a fiber is preempted at an Effect operation. A strategy sees only what the runtime shows it
 * (how many tasks are ready, which owner each belongs to, a step counter), so a run is a pure
 * function of the strategy's decisions, and the recorded decisions replay it exactly.
 *
 * @since 0.1.0
 */

/** A ready task as a strategy sees it: the dispatcher (≈ fiber) it belongs to, in creation order. @category models */
export interface ReadyTask {
  readonly owner: number
}

/**
 * Decides the interleaving of one run.
 *
 * @category models
 */
export interface Strategy {
  /** A readable description, kept in counterexamples. */
  readonly name: string
  /** Index of the task to run next among `ready` (length >= 2); `point` counts these choice points from 0. */
  readonly choose: (ready: ReadonlyArray<ReadyTask>, point: number) => number
  /**
   * Whether to preempt the running fiber at the Effect operation numbered `op` (counted over every
   * operation of the run). Consulted only where a preemption is allowed (never at the first operation
   * after a fiber is entered); `others` is how many other tasks are ready then: with none, a
   * preemption resumes the same fiber at once and changes nothing. An operation where `others > 0` is
   * a contended operation.
   */
  readonly preempt: (op: number, others?: number) => boolean
}

/**
 * A small, fast, seedable PRNG (mulberry32): the same seed gives the same sequence everywhere.
 *
 * @category constructors
 */
export const rng = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Mixes a base seed and a run index into the seed of that run. @category constructors */
export const runSeed = (seed: number, run: number): number => {
  let h = (seed ^ Math.imul(run + 1, 0x9e3779b1)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0
  return (h ^ (h >>> 16)) >>> 0
}

const never = () => false

/**
 * Always the oldest ready task, never a preemption: how Effect's own scheduler orders one dispatcher.
 *
 * @category constructors
 */
export const fifo: Strategy = { name: "fifo", choose: () => 0, preempt: never }

/**
 * Uniformly random choices from `seed`; with `preemption > 0`, each Effect operation is preempted
 * with that probability.
 *
 * @category constructors
 */
export const random = (seed: number, preemption = 0): Strategy => {
  const next = rng(seed)
  const preemptNext = rng(seed ^ 0x5bd1e995)
  return {
    name: `random(seed=${seed}${preemption > 0 ? `, preemption=${preemption}` : ""})`,
    choose: (ready) => Math.floor(next() * ready.length),
    preempt: preemption > 0 ? () => preemptNext() < preemption : never
  }
}

/**
 * Replays recorded decisions: the i-th choice point takes `choices[i]` (modulo the number of ready
 * tasks, so a shrunk or foreign list still runs), then the oldest task once the list is exhausted;
 * preempts exactly at the operations listed.
 *
 * @category constructors
 */
export const replay = (choices: ReadonlyArray<number>, preemptions: ReadonlyArray<number> = []): Strategy => {
  let i = 0
  const at = new Set(preemptions)
  return {
    name: "replay",
    choose: (ready) => (i < choices.length ? (choices[i++] as number) % ready.length : 0),
    preempt: at.size === 0 ? never : (op) => at.has(op)
  }
}

// A caller that does not say how many tasks are ready (a test calling `preempt` by hand) gets the
// contended case, the one where a preemption matters.
const isContended = (others: number | undefined): boolean => (others ?? 1) > 0

/**
 * The measuring half of "measure, then choose": `base`'s decisions unchanged, and a count of the
 * contended operations the run passed (where a preemption would let another task run). Preemption
 * points drawn among the first `contended()` contended operations of a run all lie inside it.
 *
 * @category constructors
 */
export const metered = (base: Strategy): { readonly strategy: Strategy; readonly contended: () => number } => {
  let contended = 0
  return {
    strategy: {
      name: base.name,
      choose: base.choose,
      preempt: (op, others) => {
        if (isContended(others)) contended++
        return base.preempt(op, others)
      }
    },
    contended: () => contended
  }
}

/**
 * `base`'s choices, with a preemption at each contended operation whose index (counting contended
 * operations from 0 over the run) is in `points`; `base` is not asked about preemptions. Until the
 * first of them the run is the one `base` alone takes, so points fitted to that run's count of
 * contended operations (see `metered`) fire: the first always, the later ones as long as the
 * preempted run is as long. A preemption switches to another task: the choice right after it is
 * `base`'s among the other ready tasks (the preempted fiber's continuation, the newest task, waits),
 * so no preemption is spent on resuming the fiber it stopped.
 *
 * @category constructors
 */
export const preemptingAt = (base: Strategy, points: ReadonlyArray<number>): Strategy => {
  const at = new Set(points)
  let contended = 0
  let switching = false
  return {
    name: `${base.name} preempting at contended operations [${[...at].sort((a, b) => a - b).join(", ")}]`,
    choose: (ready, point) => {
      if (!switching) return base.choose(ready, point)
      switching = false
      return base.choose(ready.slice(0, -1), point)
    },
    preempt: (_op, others) => {
      switching = isContended(others) && at.has(contended++)
      return switching
    }
  }
}

/**
 * Preemption points fitted to a run with `contended` contended operations: each fraction in [0, 1)
 * picks the operation that far into the run. Distinct and sorted; none when the run has no contended
 * operation. Fractions shrink towards 0 (the earliest operation), so a property generating them
 * shrinks its preemptions well.
 *
 * @category constructors
 */
export const fitPoints = (fractions: ReadonlyArray<number>, contended: number): Array<number> => {
  if (contended <= 0) return []
  const points = new Set(fractions.map((f) => Math.min(contended - 1, Math.max(0, Math.floor(f * contended)))))
  return [...points].sort((a, b) => a - b)
}

/**
 * The points of a preempted run that it did not reach (the preemptions before them made it shorter:
 * a busy wait cut short, a connection closed sooner) moved into what is left of it: `points` are
 * the sorted points that run used, `previous` the contended operations of the run they were fitted
 * to and `contended` those of the preempted run. The points it reached stay, so a run under the new
 * points is the same up to the first moved one, which fires; the moved ones keep their order and
 * their relative places between the last point reached and the end.
 *
 * @category constructors
 */
export const refitPoints = (points: ReadonlyArray<number>, previous: number, contended: number): Array<number> => {
  const reached = points.filter((p) => p < contended)
  const start = reached.length === 0 ? 0 : (reached[reached.length - 1] as number) + 1
  if (start >= contended || reached.length === points.length) return [...reached]
  const span = Math.max(1, previous - start)
  const moved = points
    .filter((p) => p >= contended)
    .map((p) => start + Math.min(contended - start - 1, Math.floor(((p - start) / span) * (contended - start))))
  return [...new Set([...reached, ...moved])].sort((a, b) => a - b)
}

/** Choices in a row that PCT gives one owner while others are ready before it counts as spinning. */
const spinPatience = 1000

/**
 * Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): every owner gets a random
 * priority; the ready task of the highest-priority owner runs; at `depth - 1` random change points
 * the running owner's priority drops below all others. Finds any bug of depth d with probability
 * >= 1/(n k^(d-1)) per run (n owners, k steps). The steps are the run's `steps` choice points and,
 * when `contended > 0`, its `contended` contended operations too, in the order the run meets them
 * (both measured on a run of the scenario): a change point at a contended operation preempts the
 * running fiber there and demotes its owner, so that bugs whose interleavings need a fiber stopped
 * between two operations (wake-ups that Effect runs inline) have depth d as well. An owner chosen
 * `spinPatience` times in a row while others were ready is spinning (it yields until the others are
 * done, as a scenario's `quiesce` does): it drops below all others, as Coyote's PCT demotes yielding
 * tasks, so that a busy wait never livelocks the run.
 *
 * @category constructors
 */
export const pct = (seed: number, depth: number, steps: number, contended = 0): Strategy => {
  const next = rng(seed)
  let lastOwner: number | undefined
  let inARow = 0
  let lowest = 0
  // Without contended operations, change points count choice points only: the original algorithm,
  // whose recorded seeds stay valid.
  const preempting = contended > 0
  let position = 0
  let demoteNewest: number | undefined
  const changes = new Map<number, number>()
  for (let j = 1; j < depth; j++) changes.set(Math.floor(next() * Math.max(1, steps + contended)), depth - j)
  const priorities = new Map<number, number>()
  const priorityOf = (owner: number) => {
    let p = priorities.get(owner)
    if (p === undefined) {
      p = depth + next()
      priorities.set(owner, p)
    }
    return p
  }
  return {
    name: `pct(seed=${seed}, depth=${depth}, steps=${steps}${preempting ? `, contended=${contended}` : ""})`,
    choose: (ready, point) => {
      // A fiber preempted at a change point yielded its continuation last: that task is the newest.
      if (demoteNewest !== undefined) {
        priorities.set((ready[ready.length - 1] as ReadyTask).owner, demoteNewest)
        demoteNewest = undefined
      }
      let best = 0
      for (let i = 1; i < ready.length; i++) {
        if (priorityOf((ready[i] as ReadyTask).owner) > priorityOf((ready[best] as ReadyTask).owner)) best = i
      }
      const owner = (ready[best] as ReadyTask).owner
      inARow = owner === lastOwner ? inARow + 1 : 1
      lastOwner = owner
      const lowered = changes.get(preempting ? position++ : point)
      if (lowered !== undefined) priorities.set(owner, lowered)
      else if (inARow >= spinPatience) {
        priorities.set(owner, --lowest)
        inARow = 0
      }
      return best
    },
    preempt: preempting
      ? (_op, others) => {
          if (!isContended(others)) return false
          demoteNewest = changes.get(position++)
          return demoteNewest !== undefined
        }
      : never
  }
}
