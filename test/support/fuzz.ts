/**
 * The fuzz campaign's size (R-SOCK-4, R-JSON-4): `FUZZ_CASES` sets the cases of every fuzz property
 * (each file's defaults otherwise), and the tests' time limits grow with it, so that the long campaign
 * (`FUZZ_CASES=1000000`) runs to its end instead of hitting a limit sized for the default.
 */
import { fcParams } from "../../checker/fcParams.ts"

/** Cases per property: FUZZ_CASES when set, else `fallback`. */
export const fuzzCases = (fallback: number): number =>
  process.env.FUZZ_CASES === undefined ? fallback : Number(process.env.FUZZ_CASES)

/**
 * A test's time limit for `cases` cases: 3 ms a case (five times the slowest property measured, 0.66
 * ms a case on a 2-core machine), never under 30 s.
 */
export const fuzzTimeout = (cases: number): number => Math.max(30_000, cases * 3)

/** fast-check parameters for a fuzz property of `fallback` cases by default. */
export const fuzzParams = <T>(fallback: number) => fcParams<T>(fuzzCases(fallback))
