/**
 * The nesting bound of decoded JSON (R-JSON-6): Go's encoding/json stops at 10,000 levels; parsing
 * deeper input here would cost time on the event loop (and stack) for a message nothing can use.
 *
 * @since 0.2.0
 */

/** The deepest nesting of arrays and objects accepted, as Go's `encoding/json`. @category constants */
export const MaxJsonDepth = 10_000

/**
 * How deep `text` nests arrays and objects, counting outside strings, stopping as soon as it passes
 * `limit` (so a hostile input costs one pass at most). Never throws; does not validate the JSON.
 *
 * @category getters
 */
export const jsonDepthExceeds = (text: string, limit: number = MaxJsonDepth): boolean => {
  // Passing the limit takes more opening brackets than it: a shorter text cannot (most messages).
  if (text.length <= limit) return false
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return false
}

/** Nesting past which `hasNonFiniteNumber` hands over to the walk without recursion. */
const recursionDepth = 64

/**
 * Whether `value` (parsed JSON) holds a number beyond float64's range, which `JSON.parse` reads as
 * ±Infinity: what `nonFiniteNumberPath` finds, without building a path for every value on the way, so
 * decoders ask this first and `nonFiniteNumberPath` only for the path of one they refuse. Walking a
 * message's few parsed values costs a fifth of scanning its text for a long exponent or digit run.
 *
 * @category predicates
 */
export const hasNonFiniteNumber = (value: unknown, depth = 0): boolean => {
  if (typeof value === "number") return !Number.isFinite(value)
  if (typeof value !== "object" || value === null) return false
  if (depth >= recursionDepth) return nonFiniteNumberPath(value) !== undefined
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (hasNonFiniteNumber(value[i], depth + 1)) return true
    return false
  }
  for (const key in value) {
    if (Object.hasOwn(value, key) && hasNonFiniteNumber((value as Record<string, unknown>)[key], depth + 1)) return true
  }
  return false
}

/**
 * Where `value` (parsed JSON) holds a number beyond float64's range, which `JSON.parse` reads as
 * ±Infinity (Go's decoder refuses such a number; it could not be encoded again), as a path such as
 * `content.n` or `content[1]`; undefined if it holds none. Walks without recursion.
 *
 * @category getters
 */
export const nonFiniteNumberPath = (value: unknown): string | undefined => {
  const stack: Array<readonly [unknown, string]> = [[value, ""]]
  while (stack.length > 0) {
    const [current, path] = stack.pop() as readonly [unknown, string]
    if (typeof current === "number") {
      if (!Number.isFinite(current)) return path
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push([current[i], `${path}[${i}]`])
    } else if (typeof current === "object" && current !== null) {
      const keys = Object.keys(current)
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i] as string
        stack.push([(current as Record<string, unknown>)[key], path === "" ? key : `${path}.${key}`])
      }
    }
  }
  return undefined
}
