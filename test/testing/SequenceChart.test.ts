import { describe, expect, it } from "vitest"
import { scenarios } from "../../checker/scenarios/index.ts"
import { explore } from "../../src/testing/Explore.ts"
import type { Scenario } from "../../src/testing/Scenario.ts"
import { renderHtml, renderSequenceChart, targetOf } from "../../src/testing/SequenceChart.ts"

const failing = (): Parameters<typeof renderSequenceChart>[0] & { waiting: ReadonlyArray<string> } => {
  const base = scenarios["cleanup-race"]!({ capacity: 1, senders: [2], receivers: 1, cleanups: [1, 0], lateSend: true })
  // The same scenario with one check made impossible, to get a counterexample to draw.
  const broken: Scenario = {
    ...base,
    run: (ctx) => base.run({ ...ctx, check: (c, m) => ctx.check(m.startsWith("exactly") ? false : c, m) })
  }
  const { failure } = explore(broken, { strategy: "random", runs: 5 })
  if (failure === undefined) throw new Error("no counterexample")
  return failure
}

describe("sequence chart", () => {
  it("R-DET-5 draws one lifeline per fiber and per module, operations as arrows, and marks the failing step", () => {
    const example = failing()
    const svg = renderSequenceChart(example)
    expect(svg.startsWith("<svg")).toBe(true)
    const lifelines = [...svg.matchAll(/class="lifeline" data-lane="([^"]+)" data-kind="(\w+)"/g)].map(
      (m) => `${m[2]}:${m[1]}`
    )
    expect(lifelines).toContain("module:m")
    for (const fiber of ["sender0", "receiver0", "cleaner0", "cleaner1", "main"])
      expect(lifelines).toContain(`fiber:${fiber}`)
    const arrows = [...svg.matchAll(/class="message" data-kind="(\w+)"/g)].map((m) => m[1])
    expect(arrows.filter((k) => k === "invoke").length).toBeGreaterThanOrEqual(4)
    expect(arrows).toContain("return")
    expect(arrows).toContain("fail")
    expect(svg.match(/id="failing-step"/g)).toHaveLength(1)
    expect(svg).toContain("exactly one cleanup reported")
    const html = renderHtml(example)
    expect(html).toMatch(/^<!doctype html>/)
    expect(html).toContain("<svg")
    expect(html).toContain("VIOLATED")
    expect(html).not.toMatch(/<(script|link)\b/)
  })

  it("R-DET-5 finds the module or group an operation label names", () => {
    expect(targetOf("send(sink, #a)")).toBe("sink")
    expect(targetOf("op3: receive(b)")).toBe("b")
    expect(targetOf("sendToGroupSync(g, #q, 10ms)")).toBe("g")
    expect(targetOf("a note")).toBeUndefined()
  })
})
