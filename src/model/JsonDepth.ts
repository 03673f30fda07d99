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
