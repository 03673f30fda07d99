/**
 * A counterexample drawn as a message sequence chart: one lifeline per fiber and per module (or
 * group) an operation names, operations as arrows from the fiber to its target and results as arrows
 * back, virtual time down the page, the failing step marked. As SVG, or as a self-contained HTML page
 * with the timeline next to it.
 *
 * @since 0.1.0
 */
import { type Counterexample, formatTimeline } from "./Explore.ts"
import type { TraceEvent } from "./Scenario.ts"

const escapeXml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const clip = (s: string, n = 48): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s)

/** The module or group an operation label names: `send(sink, #a)` → `sink`; `op3: receive(b)` → `b`. */
export const targetOf = (label: string): string | undefined => {
  const match =
    /^(?:[\w-]+: )?(?:send|receive|sendSync|sendToGroup|sendToGroupSync|cleanup|addModule|addModuleGroup)\(([^,)]+)/.exec(
      label
    )
  return match?.[1]?.trim()
}

const isViolation = (e: TraceEvent) => e.kind === "check" && e.detail !== "holds"

/**
 * Renders the trace as an SVG message sequence chart.
 *
 * @category rendering
 */
export const renderSequenceChart = (
  example: Pick<Counterexample, "scenario" | "strategy" | "trace" | "outcome">
): string => {
  const trace = example.trace
  const fibers: Array<string> = []
  const targets: Array<string> = []
  for (const e of trace) {
    if (!fibers.includes(e.fiber)) fibers.push(e.fiber)
    const target = e.kind === "invoke" ? targetOf(e.op) : undefined
    if (target !== undefined && !targets.includes(target)) targets.push(target)
  }
  // A module and a fiber may share a name (a module's own loop): they are separate lifelines.
  const lanes = [
    ...fibers.map((name) => ({ kind: "fiber", name })),
    ...targets.map((name) => ({ kind: "module", name }))
  ]
  const laneWidth = 170
  const left = 90
  const top = 70
  const rowHeight = 24
  const width = left + lanes.length * laneWidth + 240
  const height = top + (trace.length + 2) * rowHeight + 40
  const at = (kind: string, name: string) =>
    left + lanes.findIndex((l) => l.kind === kind && l.name === name) * laneWidth + laneWidth / 2
  const parts: Array<string> = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="11">`,
    `<title>${escapeXml(`${example.scenario} under ${example.strategy}`)}</title>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#333"/></marker>',
    '<marker id="arrow-red" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#c00"/></marker></defs>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="20" font-size="13" font-weight="bold">${escapeXml(`${example.scenario} — ${example.strategy}`)}</text>`
  )
  for (const lane of lanes) {
    const x = at(lane.kind, lane.name)
    parts.push(
      `<g class="lifeline" data-lane="${escapeXml(lane.name)}" data-kind="${lane.kind}">`,
      `<rect x="${x - 70}" y="${top - 34}" width="140" height="22" rx="4" fill="${lane.kind === "fiber" ? "#e8f0fe" : "#fef3e0"}" stroke="#555"/>`,
      `<text x="${x}" y="${top - 19}" text-anchor="middle">${escapeXml(clip(lane.kind === "fiber" ? lane.name : `[${lane.name}]`, 20))}</text>`,
      `<line x1="${x}" y1="${top - 12}" x2="${x}" y2="${height - 30}" stroke="#999" stroke-dasharray="4 3"/>`,
      "</g>"
    )
  }
  let lastTime: number | undefined
  trace.forEach((e, i) => {
    const y = top + (i + 1) * rowHeight
    if (e.time !== lastTime) {
      parts.push(`<text class="time" x="8" y="${y + 4}" fill="#666">${e.time} ms</text>`)
      lastTime = e.time
    }
    const from = at("fiber", e.fiber)
    const target = targetOf(e.op)
    const to = target !== undefined ? at("module", target) : undefined
    if (isViolation(e)) {
      parts.push(
        `<g id="failing-step" class="violation"><rect x="${left - 6}" y="${y - 15}" width="${width - left - 20}" height="${rowHeight - 2}" fill="#fdd" stroke="#c00"/>`,
        `<text x="${left}" y="${y + 2}" fill="#c00" font-weight="bold">‼ ${escapeXml(clip(`${e.op}: ${e.detail ?? ""}`, 120))}</text></g>`
      )
    } else if ((e.kind === "invoke" || e.kind === "return" || e.kind === "fail") && to !== undefined && to !== from) {
      const [x1, x2] = e.kind === "invoke" ? [from, to] : [to, from]
      const red = e.kind === "fail"
      const label = e.kind === "invoke" ? e.op.replace(/^[\w-]+: /, "") : `${red ? "✗ " : ""}${e.detail ?? ""}`
      parts.push(
        `<g class="message" data-kind="${e.kind}"><line x1="${x1}" y1="${y}" x2="${x2}" y2="${y}" stroke="${red ? "#c00" : "#333"}"${e.kind === "invoke" ? "" : ' stroke-dasharray="5 3"'} marker-end="url(#${red ? "arrow-red" : "arrow"})"/>`,
        `<text x="${(x1 + x2) / 2}" y="${y - 4}" text-anchor="middle"${red ? ' fill="#c00"' : ""}>${escapeXml(clip(label))}</text></g>`
      )
    } else {
      const text =
        e.kind === "check"
          ? `✓ ${e.op}`
          : e.kind === "invoke"
            ? `→ ${e.op}`
            : e.kind === "return"
              ? `← ${e.detail ?? ""}`
              : e.kind === "fail"
                ? `✗ ${e.detail ?? ""}`
                : e.kind === "spawn"
                  ? "starts"
                  : e.kind === "end"
                    ? `ends: ${e.detail ?? ""}`
                    : e.op
      parts.push(
        `<text class="event" x="${from + 6}" y="${y + 4}" fill="${e.kind === "fail" ? "#c00" : "#333"}">${escapeXml(clip(text))}</text>`
      )
    }
  })
  const outcome =
    example.outcome._tag === "Success"
      ? "completed"
      : `${example.outcome._tag}${example.outcome._tag === "Failure" ? `: ${example.outcome.message}` : ""}`
  parts.push(
    `<text x="10" y="${height - 10}" fill="${example.outcome._tag === "Success" ? "#070" : "#c00"}" font-weight="bold">${escapeXml(clip(outcome, 160))}</text>`,
    "</svg>"
  )
  return parts.join("\n")
}

/**
 * Renders the chart and the timeline as one self-contained HTML page (no external resources).
 *
 * @category rendering
 */
export const renderHtml = (
  example: Pick<Counterexample, "scenario" | "strategy" | "trace" | "outcome" | "waiting">
): string =>
  [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeXml(`Counterexample: ${example.scenario}`)}</title>`,
    "<style>body{font-family:system-ui,sans-serif;margin:2em}pre{background:#f6f6f6;padding:1em;overflow:auto}</style>",
    "</head><body>",
    `<h1>Counterexample: ${escapeXml(example.scenario)}</h1>`,
    `<p>Strategy: ${escapeXml(example.strategy)}. Outcome: <strong>${escapeXml(example.outcome._tag)}</strong>.</p>`,
    renderSequenceChart(example),
    "<h2>Timeline</h2>",
    `<pre>${escapeXml(formatTimeline(example))}</pre>`,
    "</body></html>"
  ].join("\n")
