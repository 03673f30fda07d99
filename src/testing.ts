/**
 * beehive-effect/testing: the deterministic runtime the checker uses, for checking your own modules.
 * Run a program (or a scenario against a fresh `Beehive`) with every interleaving decided by a
 * strategy and time on a virtual clock; explore many schedules; replay a failure bit for bit.
 *
 * @since 0.1.0
 */
export { ControlledScheduler, type Decisions } from "./effects/ControlledScheduler.ts"
export {
  describeCause,
  type RunEnvironment,
  type RunOptions,
  type RunOutcome,
  type RunResult,
  runDeterministic
} from "./effects/DeterministicRuntime.ts"
export { Livelock, SimRuntime, type SimRuntimeOptions } from "./effects/SimRuntime.ts"
export {
  fifo,
  fitPoints,
  metered,
  pct,
  preemptingAt,
  type ReadyTask,
  random,
  refitPoints,
  replay as replayStrategy,
  rng,
  runSeed,
  type Strategy
} from "./effects/Strategy.ts"
export { VirtualClock } from "./effects/VirtualClock.ts"
export {
  type Counterexample,
  coverageRates,
  type ExploreOptions,
  type ExploreResult,
  explore,
  formatCoverage,
  formatTimeline,
  type ReplayResult,
  replay,
  type ScheduleCoverage,
  type StrategyName
} from "./testing/Explore.ts"
export {
  CheckFailed,
  formatTimeout,
  isFailure,
  runScenario,
  type Scenario,
  type ScenarioContext,
  type ScenarioRun,
  summarize,
  type TraceEvent
} from "./testing/Scenario.ts"
export { renderHtml, renderSequenceChart, targetOf } from "./testing/SequenceChart.ts"
