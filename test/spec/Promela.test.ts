import { spawnSync } from "node:child_process"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

// Each run builds pan (spin -a, gcc -O2) and searches the whole state space: a second or two.
const timeout = 60_000
const root = join(import.meta.dirname, "../..")

interface Expectation {
  readonly name: string
  readonly model: string
  readonly variant: string
  /** Properties SPIN must find violated; empty: the model must verify with 0 errors. */
  readonly violated: ReadonlyArray<string>
}

interface Result {
  readonly errors: number
  readonly states: number
  readonly verdict: string
  readonly reasons: ReadonlyArray<string>
}

let toolsChecked = false
const ensureSpin = (): void => {
  if (toolsChecked) return
  if (spawnSync("sh", ["-c", "command -v spin && command -v gcc"]).status !== 0) {
    const install = spawnSync("bash", [join(root, "scripts/ensure-tools.sh")], { encoding: "utf8" })
    if (install.status !== 0) {
      throw new Error(
        `SPIN is missing and scripts/ensure-tools.sh could not install it (it needs root or sudo and apt-get):\n${install.stderr}`
      )
    }
  }
  toolsChecked = true
}

// One line per run: model variant expected errors states transitions seconds total verdict reasons
const check = (model: string, variant: string): Result => {
  ensureSpin()
  const run = spawnSync("bash", [join(root, "scripts/check-models.sh"), `${model}:${variant}`], {
    cwd: root,
    encoding: "utf8"
  })
  const fields = run.stdout
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .find((f) => f[0] === model && f[1] === variant)
  if (fields === undefined || fields.length < 10) {
    throw new Error(`scripts/check-models.sh gave no result for ${model} ${variant}:\n${run.stdout}${run.stderr}`)
  }
  return {
    errors: Number(fields[3]),
    states: Number(fields[4]),
    verdict: fields[8] ?? "",
    reasons: fields[9] === "-" ? [] : (fields[9] ?? "").split(",")
  }
}

const expectations: ReadonlyArray<Expectation> = [
  {
    name: "R-SYNC-4 R-SYNC-5 R-SYNC-6 R-SYNC-8 R-RESP-1 R-RESP-2 sendsync.pml: our design has no lost response (0 errors)",
    model: "sendsync.pml",
    variant: "ours",
    violated: []
  },
  {
    name: "R-SYNC-4 sendsync.pml -DGO: SPIN finds Go's lost response",
    model: "sendsync.pml",
    variant: "GO",
    violated: ["lostResponse"]
  },
  {
    name: "R-SYNC-4 sendsync.pml -DMUT_UNBUFFERED: a slot that keeps a response only while the caller waits loses it",
    model: "sendsync.pml",
    variant: "MUT_UNBUFFERED",
    violated: ["lostResponse"]
  },
  {
    name: "R-SYNC-4 R-RESP-1 sendsync.pml -DMUT_NOCLOSE: a timeout that leaves the slot open accepts a response it never returns",
    model: "sendsync.pml",
    variant: "MUT_NOCLOSE",
    violated: ["acceptedNotReturned"]
  },
  {
    name: "R-SYNC-4 sendsync.pml -DMUT_LATEREG: a slot registered after the request is enqueued misses an early response",
    model: "sendsync.pml",
    variant: "MUT_LATEREG",
    violated: ["lostResponse"]
  },
  {
    name: "R-GSYNC-2 R-GSYNC-3 R-GSYNC-4 R-GSYNC-5 R-GSYNC-7 R-RESP-1 groupsync.pml: our design counts each member once (0 errors)",
    model: "groupsync.pml",
    variant: "ours",
    violated: []
  },
  {
    name: "R-GSYNC-2 R-GSYNC-3 groupsync.pml -DGO: SPIN finds Go counting messages instead of responders",
    model: "groupsync.pml",
    variant: "GO",
    violated: ["miscounted"]
  },
  {
    name: "R-GSYNC-3 groupsync.pml -DMUT_COUNT_MESSAGES: counting a member's second answer passes one member for two",
    model: "groupsync.pml",
    variant: "MUT_COUNT_MESSAGES",
    violated: ["miscounted"]
  },
  {
    name: "R-GSYNC-3 groupsync.pml -DMUT_NO_UNINVITED: a call that ignores uninvited answers succeeds with them",
    model: "groupsync.pml",
    variant: "MUT_NO_UNINVITED",
    violated: ["miscounted"]
  },
  {
    name: "R-GSYNC-5 groupsync.pml -DMUT_IGNORE_GONE: waiting for a cleaned-up member ends in Timeout, not MemberGone",
    model: "groupsync.pml",
    variant: "MUT_IGNORE_GONE",
    violated: ["goneNotReported"]
  },
  {
    name: "R-CLEAN-1 R-CLEAN-2 R-CLEAN-3 R-CLEAN-4 R-CLEAN-6 cleanup.pml: our cleanup loses no message and reports once (0 errors)",
    model: "cleanup.pml",
    variant: "ours",
    violated: []
  },
  {
    name: "R-CLEAN-3 R-CLEAN-4 R-CLEAN-6 cleanup.pml -DGO: SPIN finds Go's double close and its sends on a closed channel",
    model: "cleanup.pml",
    variant: "GO",
    violated: ["closeOfClosedChannel", "sendOnClosedChannel", "messageLost"]
  },
  {
    name: "R-CLEAN-4 cleanup.pml -DMUT_DROP_BUFFER: a cleanup that drops the buffered messages loses them",
    model: "cleanup.pml",
    variant: "MUT_DROP_BUFFER",
    violated: ["messageLost"]
  },
  {
    name: "R-CLEAN-3 cleanup.pml -DMUT_KEEP_OFFERER: a cleanup that leaves a waiting sender waiting never tells it",
    model: "cleanup.pml",
    variant: "MUT_KEEP_OFFERER",
    violated: ["senderNotTold"]
  },
  {
    name: "R-CLEAN-2 cleanup.pml -DMUT_ONE_GROUP: a cleanup that leaves the first group only leaves a stale member",
    model: "cleanup.pml",
    variant: "MUT_ONE_GROUP",
    violated: ["staleMembership"]
  }
]

describe("spec/promela: SPIN checks the protocol designs exhaustively", () => {
  for (const { name, model, variant, violated } of expectations) {
    it(
      name,
      () => {
        const result = check(model, variant)
        expect(result.states).toBeGreaterThan(0)
        if (violated.length === 0) {
          expect(result.errors).toBe(0)
        } else {
          expect(result.errors).toBeGreaterThanOrEqual(1)
          expect(result.reasons).toEqual(expect.arrayContaining([...violated]))
        }
        expect(result.verdict).toBe("ok")
      },
      timeout
    )
  }
})
