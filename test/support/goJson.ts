/**
 * Go's `encoding/json` as an oracle: `test/fixtures/gojson/main.go`, built with the Go toolchain that
 * `scripts/ensure-tools.sh` installs, decodes a JSON text into Go beehive's `model.Message` and
 * marshals it again. One child process serves a whole test file, one text at a time.
 */
import { execFileSync, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"

/** What Go made of a text: the bytes of `json.Marshal` of the message it decoded, or its error. */
export type GoAnswer = { readonly ok: true; readonly json: string } | { readonly ok: false; readonly error: string }

/** A running oracle; `close` ends its process. */
export interface GoJson {
  /** What Go makes of a text (as UTF-8), or of bytes as they are. */
  readonly remarshal: (text: string | Uint8Array) => Promise<GoAnswer>
  readonly close: () => void
}

const fixture = join(import.meta.dirname, "..", "fixtures", "gojson")

// Go needs a build cache and a GOPATH even for one file of the standard library; a CI user may have no
// HOME. Offline and with the local toolchain: a test never downloads.
const goEnv = (): NodeJS.ProcessEnv => {
  const cache = join(tmpdir(), "beehive-effect-go")
  mkdirSync(cache, { recursive: true })
  return {
    ...process.env,
    GOCACHE: process.env.GOCACHE ?? join(cache, "cache"),
    GOPATH: process.env.GOPATH ?? join(cache, "path"),
    GOPROXY: "off",
    GOTOOLCHAIN: "local"
  }
}

/** Builds the oracle (a few seconds the first time, while Go compiles its standard library) and starts it. */
export const startGoJson = (): GoJson => {
  const binary = join(mkdtempSync(join(tmpdir(), "bh-gojson-")), "gojson")
  execFileSync("go", ["build", "-o", binary, "main.go"], { cwd: fixture, env: goEnv(), stdio: "pipe" })
  const child = spawn(binary, [], { stdio: ["pipe", "pipe", "inherit"] })
  const waiting: Array<(answer: GoAnswer) => void> = []
  createInterface({ input: child.stdout }).on("line", (line) => {
    const text = Buffer.from(line.slice(2), "base64").toString("utf8")
    waiting.shift()?.(line.startsWith("O ") ? { ok: true, json: text } : { ok: false, error: text })
  })
  return {
    remarshal: (text) =>
      new Promise((resolve) => {
        waiting.push(resolve)
        const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : Buffer.from(text)
        child.stdin.write(`${bytes.toString("base64")}\n`)
      }),
    close: () => {
      child.kill()
    }
  }
}

/**
 * `json` with each escape written in one spelling, for comparing two encoders of the same values:
 * Debian's Go 1.19 writes `\u0008` and `\u000c` where Go ≥ 1.22 (and R-JSON-2) writes `\b` and `\f`,
 * and a lone surrogate, written `\ufffd` (R-JSON-2, as Go writes bytes that are not UTF-8), reads back
 * in Go as U+FFFD, which Go then writes as itself. Nothing else is rewritten.
 */
export const sameSpelling = (json: string): string => {
  let out = ""
  for (let i = 0; i < json.length; i++) {
    const c = json[i] as string
    if (c !== "\\") {
      out += c
    } else if (json[i + 1] === "u") {
      const code = json.slice(i + 2, i + 6).toLowerCase()
      out += code === "0008" ? "\\b" : code === "000c" ? "\\f" : code === "fffd" ? "\ufffd" : json.slice(i, i + 6)
      i += 5
    } else {
      out += c + (json[i + 1] as string)
      i++
    }
  }
  return out
}
