/** The fast-check parameters of the suite live with the checker; re-exported for tests. */
export * from "../../checker/fcParams.ts"
