import { describe, it } from "vitest"
import { checkStateMachine } from "../../checker/harness/StateMachine.ts"

describe("state machine: the implementation follows the reference model", () => {
  it(
    "R-MOD-1 R-MOD-2 R-MOD-3 R-MOD-4 R-SEND-2 R-SEND-4 R-RECV-2 R-RECV-3 R-CLEAN-2 R-CLEAN-3 R-CLEAN-4 R-CLEAN-5 " +
      "R-SYNC-2 R-SYNC-4 R-SYNC-5 R-SYNC-7 R-SYNC-8 R-RESP-1 R-RESP-2 R-GROUP-2 R-GROUP-3 R-GSYNC-2 R-GSYNC-3 " +
      "R-GSYNC-4 R-GSYNC-5 R-GSYNC-6 R-GLOBAL-3 R-GLOBAL-4: every command sequence, under every generated schedule",
    () => checkStateMachine("state-machine", { runs: 300 }),
    120_000
  )
})
