/**
 * The sequential specification used to check concurrent histories for linearizability: each
 * operation takes effect atomically at one point between its invocation and its response. It covers
 * the per-module operations (addModule, send, receive, cleanup) whose effects are atomic in SPEC.md;
 * blocking is a precondition (a send needs room, a receive needs a message).
 */

export interface SeqModule {
  readonly capacity: number
  readonly queue: ReadonlyArray<string>
}

/** Module name → mailbox. Immutable: every step returns a new state. */
export type SeqState = ReadonlyMap<string, SeqModule>

export type SeqOp =
  | { readonly _tag: "AddModule"; readonly module: string; readonly capacity: number }
  | { readonly _tag: "Send"; readonly module: string; readonly id: string }
  | { readonly _tag: "Receive"; readonly module: string }
  | { readonly _tag: "Cleanup"; readonly module: string }

/**
 * A result as the implementation reported it: `ok` (with the received id or the undelivered ids),
 * `absent` (ModuleNotFound, or ModuleClosed: the module went away while the call waited), `exists`.
 */
export type SeqResult =
  | { readonly _tag: "ok"; readonly value?: string | ReadonlyArray<string> | undefined }
  | { readonly _tag: "absent" }
  | { readonly _tag: "exists" }

const without = (state: SeqState, module: string): SeqState => {
  const next = new Map(state)
  next.delete(module)
  return next
}

const withModule = (state: SeqState, module: string, m: SeqModule): SeqState => new Map(state).set(module, m)

/** The state after `op` took effect with `result`, or undefined if the specification does not allow it. */
export const seqStep = (state: SeqState, op: SeqOp, result: SeqResult): SeqState | undefined => {
  const m = state.get(op.module)
  if (result._tag === "absent") return m === undefined ? state : undefined
  if (op._tag === "AddModule") {
    if (result._tag === "exists") return m !== undefined ? state : undefined
    return m === undefined ? withModule(state, op.module, { capacity: op.capacity, queue: [] }) : undefined
  }
  if (m === undefined || result._tag !== "ok") return undefined
  switch (op._tag) {
    case "Send":
      return m.queue.length < m.capacity
        ? withModule(state, op.module, { ...m, queue: [...m.queue, op.id] })
        : undefined
    case "Receive":
      return m.queue[0] === result.value ? withModule(state, op.module, { ...m, queue: m.queue.slice(1) }) : undefined
    case "Cleanup":
      return JSON.stringify(m.queue) === JSON.stringify(result.value) ? without(state, op.module) : undefined
  }
}

/** A canonical string of a state, for memoisation. */
export const seqKey = (state: SeqState): string =>
  [...state]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, m]) => `${name}:${m.capacity}:${m.queue.join(",")}`)
    .join(";")
