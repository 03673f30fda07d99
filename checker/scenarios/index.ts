/**
 * The named scenarios of the property suite, by name, so that a counterexample file can rebuild its
 * scenario from the recorded input (`npm run replay`).
 */
import type { Scenario } from "../../src/testing/Scenario.ts"
import { cleanupRace } from "./cleanupRace.ts"
import { cleanupWake } from "./cleanupWake.ts"
import { concurrentBranches } from "./concurrentBranches.ts"
import { groupSyncCounting } from "./groupSyncCounting.ts"
import { messageLedger } from "./messageLedger.ts"
import { sendSyncDeadline } from "./sendSyncDeadline.ts"
import { socketLedger } from "./socketLedger.ts"
import { syncTrio } from "./syncTrio.ts"
import { syncWorkload } from "./syncWorkload.ts"

/** A scenario family: the scenario for one generated input. */
export type ScenarioFactory = (input: any) => Scenario

export const scenarios: Record<string, ScenarioFactory> = {
  "sendsync-deadline": sendSyncDeadline,
  "groupsync-counting": groupSyncCounting,
  "cleanup-race": cleanupRace,
  "cleanup-wake": cleanupWake,
  "message-ledger": messageLedger,
  "sync-workload": syncWorkload,
  "concurrent-branches": concurrentBranches,
  "socket-ledger": socketLedger,
  "sync-trio": syncTrio
}
