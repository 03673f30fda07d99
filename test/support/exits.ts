import { Exit, Option } from "effect"

/** The typed error an exit failed with; undefined for a success, a defect or an interruption. */
export const errorOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined => Option.getOrUndefined(Exit.findErrorOption(exit))
