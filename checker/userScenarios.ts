/**
 * Loading a user's scenarios: a module (path) that exports `scenarios` (an array or a record of
 * `Scenario`s) or a default export of either.
 */
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import type { Scenario } from "../src/testing/Scenario.ts"

/** The module does not export scenarios. */
export class NoScenarios extends Error {
  override readonly name = "NoScenarios"
}

const isScenario = (x: unknown): x is Scenario =>
  typeof x === "object" &&
  x !== null &&
  typeof (x as Scenario).name === "string" &&
  typeof (x as Scenario).run === "function"

/** Imports the module at `path` and returns its scenarios; throws `NoScenarios` if there are none. */
export const loadScenarios = async (path: string): Promise<Array<Scenario>> => {
  const module = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>
  const exported = module.scenarios ?? module.default
  const list = Array.isArray(exported)
    ? exported
    : typeof exported === "object" && exported !== null
      ? Object.values(exported)
      : []
  const scenarios = list.filter(isScenario)
  if (scenarios.length === 0) throw new NoScenarios(`${path} exports no scenarios (export const scenarios = [...])`)
  return scenarios
}
