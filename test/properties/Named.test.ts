import { describe, it } from "vitest"
import { checkScenarios } from "../../checker/harness/ScenarioProperty.ts"
import { properties, testName } from "../../checker/properties.ts"

// Each catalogue entry becomes a test named after the rules it checks (checker/properties.ts).
describe("named properties", () => {
  for (const property of properties) {
    it(testName(property), () => checkScenarios(property.scenario, property.input, property), 120_000)
  }
})
