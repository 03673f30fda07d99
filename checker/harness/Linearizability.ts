/**
 * A Wing–Gong linearizability checker with Lowe's memoisation: is there an order of the completed
 * operations, consistent with real time (an operation that responded before another was invoked
 * comes first), in which the sequential specification accepts every result? Pending operations may
 * take effect or not. Histories of per-module operations are checked one module at a time
 * (P-compositionality, as in Porcupine), which keeps the search small.
 */
import { type SeqOp, type SeqResult, type SeqState, seqKey, seqStep } from "../../spec/model/Sequential.ts"

export interface HistoryEntry {
  readonly id: number
  readonly thread: string
  readonly op: SeqOp
  readonly invoke: number
  /** Undefined while pending. */
  readonly response: number | undefined
  readonly result: SeqResult | undefined
}

export interface LinearizabilityResult {
  readonly ok: boolean
  /** For a failure: the module whose history has no linearization. */
  readonly module?: string | undefined
  readonly explored: number
}

const checkOne = (history: ReadonlyArray<HistoryEntry>, initial: SeqState): { ok: boolean; explored: number } => {
  const n = history.length
  const seen = new Set<string>()
  let explored = 0
  const search = (done: ReadonlyArray<boolean>, state: SeqState): boolean => {
    if (history.every((e, i) => done[i] || e.response === undefined)) return true
    const key = `${done.map((d) => (d ? 1 : 0)).join("")}|${seqKey(state)}`
    if (seen.has(key)) return false
    seen.add(key)
    explored++
    // The earliest response among the operations not yet placed bounds who may go next.
    let bound = Number.POSITIVE_INFINITY
    for (let i = 0; i < n; i++) {
      const r = history[i]?.response
      if (!done[i] && r !== undefined && r < bound) bound = r
    }
    for (let i = 0; i < n; i++) {
      const e = history[i] as HistoryEntry
      if (done[i] || e.invoke > bound) continue
      const next = e.result === undefined ? state : seqStep(state, e.op, e.result)
      const alternatives = e.result === undefined ? [state] : next === undefined ? [] : [next]
      for (const s of alternatives) {
        const marked = [...done]
        marked[i] = true
        if (search(marked, s)) return true
      }
      // A pending operation may also take effect in any way the specification allows; for the
      // operations here its effect is invisible to the others' results only if it never happened,
      // which the branch above covers.
    }
    return false
  }
  const ok = search(new Array<boolean>(n).fill(false), initial)
  return { ok, explored }
}

/** Checks a history of per-module operations, module by module. */
export const checkLinearizable = (history: ReadonlyArray<HistoryEntry>, initial: SeqState): LinearizabilityResult => {
  const modules = [...new Set(history.map((e) => e.op.module))]
  let explored = 0
  for (const module of modules) {
    const part = history.filter((e) => e.op.module === module)
    const start: SeqState = initial.has(module) ? new Map([[module, initial.get(module)!]]) : new Map()
    const result = checkOne(part, start)
    explored += result.explored
    if (!result.ok) return { ok: false, module, explored }
  }
  return { ok: true, explored }
}
