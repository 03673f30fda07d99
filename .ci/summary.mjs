// Prints vitest's counts as the closing line CI reads: "N passed, N failed".
import { existsSync, readFileSync } from "node:fs"

const report = "reports/vitest.json"
if (!existsSync(report)) {
  console.log("0 passed, 1 failed")
} else {
  const { numPassedTests, numFailedTests, numTotalTestSuites, numFailedTestSuites } = JSON.parse(
    readFileSync(report, "utf8")
  )
  const failedSuites = numFailedTestSuites > 0 && numFailedTests === 0 ? 1 : 0
  console.log(`${numPassedTests} passed, ${numFailedTests + failedSuites} failed`)
  if (numTotalTestSuites === 0) process.exitCode = 1
}
