/** The garbage collector, for properties whose oracle is what stays reachable (a `WeakRef` reads undefined once collected). */
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { Effect } from "effect"

v8.setFlagsFromString("--expose-gc")
const collect = vm.runInNewContext("gc") as () => void

/** Two full collections, a task apart: a `WeakRef` whose target is unreachable reads undefined after. */
export const collectGarbage: Effect.Effect<void> = Effect.promise(async () => {
  for (let i = 0; i < 2; i++) {
    collect()
    await new Promise((resolve) => setImmediate(resolve))
  }
})
