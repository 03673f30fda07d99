import { Exit, Option } from "effect"

/** The typed error an exit failed with; undefined for a success, a defect or an interruption. */
export const errorOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined => Option.getOrUndefined(Exit.findErrorOption(exit))

/**
 * The errors a call waiting on a process whose scope ends may end with: its own process shut down
 * (R-GLOBAL-3), the request dropped with its connection (R-SOCK-11), the module closed or gone
 * (R-CLEAN), a group call's member gone (R-GSYNC-5).
 */
export const callEndedErrors: ReadonlyArray<string> = [
  "BeehiveShutdown",
  "RequestDropped",
  "ModuleClosed",
  "ModuleNotFound",
  "GroupSyncError"
]
