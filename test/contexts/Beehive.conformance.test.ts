import { conformance } from "../support/conformance.ts"
import { effectDriver } from "../support/drivers.ts"

conformance("Effect API", effectDriver)
