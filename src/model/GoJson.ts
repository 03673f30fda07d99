/**
 * A JSON writer that produces the bytes Go's `encoding/json` produces for the same value: HTML
 * characters and U+2028/U+2029 escaped, invalid UTF-16 replaced by `\ufffd`, `\b` and `\f` short
 * escapes (Go >= 1.22), object keys sorted as Go sorts map keys, `-0` kept, byte arrays as base64.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import { MessageEncodeError } from "./Errors.ts"

const hex = "0123456789abcdef"

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff

const escapeCode = (code: number): string => {
  switch (code) {
    case 0x22:
      return '\\"'
    case 0x5c:
      return "\\\\"
    case 0x08:
      return "\\b"
    case 0x0c:
      return "\\f"
    case 0x0a:
      return "\\n"
    case 0x0d:
      return "\\r"
    case 0x09:
      return "\\t"
    default:
      return `\\u${hex[code >> 12]}${hex[(code >> 8) & 0xf]}${hex[(code >> 4) & 0xf]}${hex[code & 0xf]}`
  }
}

const needsEscape = /["\\<>&\u0000-\u001f\u2028\u2029\ud800-\udfff]/

/**
 * A string as Go's `encoding/json` writes it (with `SetEscapeHTML(true)`, the default).
 *
 * @category encoding
 */
export const quote = (s: string): string => {
  if (!needsEscape.test(s)) return `"${s}"`
  let out = '"'
  let start = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    let replacement: string | undefined
    if (
      c < 0x20 ||
      c === 0x22 ||
      c === 0x5c ||
      c === 0x3c ||
      c === 0x3e ||
      c === 0x26 ||
      c === 0x2028 ||
      c === 0x2029
    ) {
      replacement = escapeCode(c)
    } else if (isHighSurrogate(c) && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      i++
    } else if (isHighSurrogate(c) || isLowSurrogate(c)) {
      // A lone surrogate has no UTF-8 form; Go writes invalid UTF-8 as the replacement character.
      replacement = "\\ufffd"
    }
    if (replacement !== undefined) {
      out += s.slice(start, i) + replacement
      start = i + 1
    }
  }
  return `${out + s.slice(start)}"`
}

/**
 * A number as Go's float64 encoder writes it: shortest round-trip form, exponent outside
 * [1e-6, 1e21), `-0` kept. JavaScript's own formatting agrees everywhere else.
 *
 * @category encoding
 */
export const formatNumber = (n: number): string => (Object.is(n, -0) ? "-0" : String(n))

// Go sorts map keys by their UTF-8 bytes, which is code point order, not UTF-16 unit order.
const compareCodePoints = (a: string, b: string): number => {
  const ia = a[Symbol.iterator]()
  const ib = b[Symbol.iterator]()
  while (true) {
    const x = ia.next()
    const y = ib.next()
    if (x.done) return y.done ? 0 : -1
    if (y.done) return 1
    const cx = x.value.codePointAt(0) as number
    const cy = y.value.codePointAt(0) as number
    if (cx !== cy) return cx - cy
  }
}

const surrogate = /[\ud800-\udfff]/
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

/**
 * An object's keys in the order Go writes the map it decodes from them. Go holds U+FFFD where a key
 * has a lone surrogate (its decoder replaces one), so keys are sorted as they are then, and keys that
 * are then the same are one key in Go: the last of them in the object's order is written, as Go keeps
 * the last of a key written twice.
 */
const sortKeys = (keys: Array<string>): Array<string> => {
  if (!keys.some((k) => surrogate.test(k))) return keys.sort()
  const byGoKey = new Map<string, string>()
  for (const key of keys) {
    byGoKey.set(key.replace(loneSurrogate, "\ufffd"), key)
  }
  return [...byGoKey.keys()].sort(compareCodePoints).map((goKey) => byGoKey.get(goKey) as string)
}

const base64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")

class Unsupported {
  readonly path: string
  readonly reason: string
  constructor(path: string, reason: string) {
    this.path = path
    this.reason = reason
  }
}

const write = (value: unknown, path: string, seen: Set<object>): string => {
  switch (typeof value) {
    case "string":
      return quote(value)
    case "number":
      if (!Number.isFinite(value)) throw new Unsupported(path, `unsupported value: ${value}`)
      return formatNumber(value)
    case "boolean":
      return value ? "true" : "false"
    case "undefined":
      return "null"
    case "object":
      return value === null ? "null" : writeObject(value, path, seen)
    default:
      throw new Unsupported(path, `unsupported type: ${typeof value}`)
  }
}

// The content's own code (a `toJSON`, a getter, a proxy's trap) may throw: what it throws is what
// cannot be written there, named by the path being read (a getter's key, or the object), as a
// `MessageEncodeError`, never a defect (until a property found it, it was thrown out of `send`). A
// stack overflow goes on up: the whole content is nested too deeply.
const writeObject = (value: object, path: string, seen: Set<object>): string => {
  let reading: string | undefined
  try {
    if (value instanceof Uint8Array) return quote(base64(value))
    if (seen.has(value)) throw new Unsupported(path, "encountered a cycle")
    const toJSON = (value as { toJSON?: unknown }).toJSON
    if (typeof toJSON === "function") return write(toJSON.call(value), path, seen)
    seen.add(value)
    if (Array.isArray(value)) {
      let out = "["
      for (let i = 0; i < value.length; i++) {
        if (i > 0) out += ","
        const at = `${path}[${i}]`
        reading = at
        const item: unknown = value[i]
        reading = undefined
        out += write(item, at, seen)
      }
      return `${out}]`
    }
    const record = value as Record<string, unknown>
    const keys = sortKeys(Object.keys(record))
    let out = "{"
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string
      if (i > 0) out += ","
      const at = `${path}.${key}`
      reading = at
      const item = record[key]
      reading = undefined
      out += `${quote(key)}:${write(item, at, seen)}`
    }
    return `${out}}`
  } catch (e) {
    throw e instanceof Unsupported || isStackOverflow(e) ? e : new Unsupported(reading ?? path, `threw ${thrown(e)}`)
  } finally {
    // Also after a cycle was found, where an ancestor had added it: that ends the whole write.
    seen.delete(value)
  }
}

const isStackOverflow = (e: unknown): boolean => e instanceof RangeError && /call stack/i.test(e.message)

/** What was thrown, as text; never throws itself (a thrown value's `toString` may). */
const thrown = (e: unknown): string => {
  try {
    return e instanceof Error ? `${e.name}: ${e.message}` : String(e)
  } catch {
    return `a ${typeof e}`
  }
}

/**
 * Any JSON-like value as Go's `json.Marshal` of the corresponding Go value writes it (objects as
 * `map[string]interface{}`, so with sorted keys). `undefined` is written as `null`, a `Uint8Array` as
 * base64 (Go's `[]byte`), an object with `toJSON` through it. Fails with `MessageEncodeError` on
 * values JSON cannot carry, and where the value's own code throws (a `toJSON`, a getter, a proxy's
 * trap); never throws.
 *
 * @category encoding
 */
export const stringify = (value: unknown, path = "content"): Result.Result<string, MessageEncodeError> => {
  // Most contents are text: no walk, no cycle set.
  if (typeof value === "string") return Result.succeed(quote(value))
  try {
    return Result.succeed(write(value, path, new Set()))
  } catch (e) {
    if (e instanceof Unsupported) return Result.fail(new MessageEncodeError({ path: e.path, reason: e.reason }))
    if (isStackOverflow(e)) return Result.fail(new MessageEncodeError({ path, reason: "nested too deeply" }))
    throw e
  }
}
