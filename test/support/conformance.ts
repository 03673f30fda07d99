import { afterEach, describe, expect, it } from "vitest"
import type { BeehiveOptions } from "../../src/contexts/Beehive.ts"
import { InvalidArgument } from "../../src/model/Errors.ts"
import * as Message from "../../src/model/Message.ts"
import type { PromiseBeehive } from "../../src/promise.ts"
import { peek, rejection, tick } from "./drivers.ts"
import { msg } from "./messages.ts"

const response = (request: Message.Message, content: unknown, id = `resp-${request.header.id}`) =>
  Message.make({ header: { id, parentId: request.header.id, timestamp: 2 }, route: { operation: "response" }, content })

/**
 * The rules of spec/SPEC.md that both interfaces must satisfy, run against a driver (the Promise
 * facade or the Effect API behind Promises). Timing-sensitive rules (virtual time, same-instant
 * races) are checked on the Effect API with a virtual clock elsewhere.
 */
export const conformance = (label: string, makeDriver: (options?: BeehiveOptions) => PromiseBeehive) =>
  describe(`${label} conformance`, () => {
    const open: Array<PromiseBeehive> = []
    const make = async (modules: ReadonlyArray<string> = [], options?: BeehiveOptions) => {
      const b = makeDriver(options)
      open.push(b)
      for (const m of modules) await b.addModule(m)
      return b
    }
    afterEach(async () => {
      for (const b of open.splice(0)) await b.close()
    })

    describe("modules", () => {
      it("R-MOD-1 addModule gives an empty mailbox of 1024 by default, or the capacity given", async () => {
        const b = await make(["m"])
        for (let i = 0; i < 1024; i++) await b.send("m", msg(`m${i}`))
        const blocked = b.send("m", msg("extra"))
        expect(await peek(blocked)).toBe("pending")
        expect((await b.receive("m")).header.id).toBe("m0")
        await blocked
        await b.addModule("small", { capacity: 2 })
        await b.send("small", msg("a"))
        await b.send("small", msg("b"))
        expect(await peek(b.send("small", msg("c")))).toBe("pending")
        const snap = await b.snapshot()
        expect(snap.modules.find((m) => m.name === "small")).toMatchObject({ queued: 2, waitingSenders: 1 })
      })

      it("R-MOD-1 R-API-3 a context option sets the default capacity; a bad capacity is InvalidArgument; unknown types fail", async () => {
        const b = await make(["m"], { capacity: 1 })
        await b.send("m", msg("a"))
        expect(await peek(b.send("m", msg("b")))).toBe("pending")
        const refused = await rejection(b.addModule("bad", { capacity: 0 }))
        expect(refused).toBeInstanceOf(InvalidArgument)
        expect(refused).toMatchObject({ operation: "addModule", argument: "capacity" })
        expect((await rejection(b.addModule("remote", { contextType: "socket" })))._tag).toBe("UnknownContextType")
        expect((await b.snapshot()).modules.map((m) => m.name)).toEqual(["m"])
      })

      it("R-MOD-2 addModule with a taken name fails with ModuleAlreadyExists and changes nothing", async () => {
        const b = await make(["m"])
        await b.addModuleGroup("m", "g")
        await b.send("m", msg("kept"))
        const e = await rejection(b.addModule("m"))
        expect(e._tag).toBe("ModuleAlreadyExists")
        expect(e.module).toBe("m")
        expect((await b.receive("m")).header.id).toBe("kept")
        expect((await b.sendToGroup("g", msg("g1"))).delivered).toEqual(["m"])
      })

      it("R-MOD-3 addModuleGroup: unknown module fails; many groups; joining twice is a no-op", async () => {
        const b = await make(["m"])
        expect((await rejection(b.addModuleGroup("ghost", "g")))._tag).toBe("ModuleNotFound")
        await b.addModuleGroup("m", "g1")
        await b.addModuleGroup("m", "g1")
        await b.addModuleGroup("m", "g2")
        expect((await b.sendToGroup("g1", msg("x"))).delivered).toEqual(["m"])
        expect((await b.sendToGroup("g2", msg("y"))).delivered).toEqual(["m"])
        expect((await b.receive("m")).header.id).toBe("x")
        expect((await b.receive("m")).header.id).toBe("y")
        expect((await b.snapshot()).modules[0]?.groups).toEqual(["g1", "g2"])
      })

      it("R-MOD-4 a group exists while it has members, in join order", async () => {
        const b = await make(["c", "a", "b"])
        for (const m of ["c", "a", "b"]) await b.addModuleGroup(m, "g")
        expect((await b.snapshot()).groups.get("g")).toEqual(["c", "a", "b"])
        expect((await b.sendToGroup("g", msg("1"))).delivered).toEqual(["c", "a", "b"])
        for (const m of ["c", "a", "b"]) await b.cleanup(m)
        expect((await b.snapshot()).groups.has("g")).toBe(false)
        expect((await rejection(b.sendToGroup("g", msg("2"))))._tag).toBe("GroupNotFound")
      })
    })

    describe("cleanup", () => {
      it("R-CLEAN-1 cleanup of an unknown module fails with ModuleNotFound", async () => {
        const b = await make()
        expect(await rejection(b.cleanup("ghost"))).toMatchObject({ _tag: "ModuleNotFound", module: "ghost" })
      })

      it("R-CLEAN-2 cleanup removes the module from the table and every group; the name can be reused", async () => {
        const b = await make(["m", "other"])
        await b.addModuleGroup("m", "x")
        await b.addModuleGroup("m", "y")
        await b.addModuleGroup("other", "y")
        await b.send("m", msg("old"))
        const report = await b.cleanup("m")
        expect(report.groups).toEqual(["x", "y"])
        for (const op of [
          b.send("m", msg("1")),
          b.receive("m"),
          b.sendSync("m", msg("2"), 1000),
          b.addModuleGroup("m", "z"),
          b.cleanup("m")
        ]) {
          expect((await rejection(op))._tag).toBe("ModuleNotFound")
        }
        expect((await rejection(b.sendToGroup("x", msg("3"))))._tag).toBe("GroupNotFound")
        expect((await b.sendToGroup("y", msg("4"))).delivered).toEqual(["other"])
        await b.addModule("m")
        await b.send("m", msg("new"))
        expect((await b.receive("m")).header.id).toBe("new")
        expect((await b.snapshot()).modules.find((m) => m.name === "m")?.groups).toEqual([])
      })

      it("R-CLEAN-3 receivers and full senders suspended on the module fail with ModuleClosed", async () => {
        const b = await make(["r"])
        await b.addModule("s", { capacity: 1 })
        const receivers = [b.receive("r"), b.receive("r")]
        await b.send("s", msg("fill"))
        const sender = b.send("s", msg("blocked"))
        await tick()
        await b.cleanup("r")
        const report = await b.cleanup("s")
        for (const p of [...receivers, sender]) expect(await rejection(p)).toMatchObject({ _tag: "ModuleClosed" })
        expect(report.undelivered.map((m) => m.header.id)).toEqual(["fill"])
      })

      it("R-CLEAN-4 buffered messages come back in order as undelivered", async () => {
        const b = await make(["m"])
        for (const id of ["a", "b", "c"]) await b.send("m", msg(id))
        await b.receive("m")
        const report = await b.cleanup("m")
        expect(report.module).toBe("m")
        expect(report.undelivered.map((m) => m.header.id)).toEqual(["b", "c"])
      })

      it("R-CLEAN-5 a sendSync whose request is still in the mailbox fails at once with RequestDropped", async () => {
        const b = await make(["m"])
        const call = b.sendSync("m", msg("req"), 60_000)
        await tick()
        const report = await b.cleanup("m")
        expect(report.undelivered.map((m) => [m.header.id, m.header.sync])).toEqual([["req", true]])
        expect(await rejection(call)).toMatchObject({ _tag: "RequestDropped", msgId: "req", module: "m" })
        expect((await b.snapshot()).pendingCalls).toEqual([])
      })

      it("R-CLEAN-6 concurrent cleanups: one report, the others ModuleNotFound", async () => {
        const b = await make(["m"])
        await b.send("m", msg("x"))
        const results = await Promise.allSettled([1, 2, 3, 4, 5].map(() => b.cleanup("m")))
        const ok = results.filter((r) => r.status === "fulfilled")
        expect(ok).toHaveLength(1)
        expect(
          results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason._tag)
        ).toEqual(["ModuleNotFound", "ModuleNotFound", "ModuleNotFound", "ModuleNotFound"])
      })

      it("R-CLEAN-7 a sendSync whose request was received keeps waiting and gets a late response", async () => {
        const b = await make(["m"])
        const call = b.sendSync("m", msg("req"), 60_000)
        const request = await b.receive("m")
        await b.cleanup("m")
        expect(await peek(call)).toBe("pending")
        expect(await b.sendResp(response(request, "late"))).toBe(true)
        expect((await call).content).toBe("late")
      })
    })

    describe("send and receive", () => {
      it("R-SEND-1 send to an unknown module fails with ModuleNotFound", async () => {
        const b = await make()
        expect(await rejection(b.send("ghost", msg("x")))).toMatchObject({ _tag: "ModuleNotFound", module: "ghost" })
      })

      it("R-SEND-2 send delivers the message unchanged; blocked senders are admitted in order", async () => {
        const b = await make()
        await b.addModule("m", { capacity: 1 })
        const original = Message.make({
          header: { id: "a", parentId: "p", timestamp: 9, type: "t", resourceVersion: "3" },
          route: { source: "s", destination: "d", group: "g", resource: "r", operation: "o" },
          content: { deep: [1] }
        })
        await b.send("m", original)
        const blocked = ["b", "c", "d"].map((id) => b.send("m", msg(id)))
        await tick()
        expect((await b.snapshot()).modules[0]).toMatchObject({ queued: 1, waitingSenders: 3 })
        const received = []
        for (let i = 0; i < 4; i++) received.push(await b.receive("m"))
        await Promise.all(blocked)
        expect(received[0]).toBe(original)
        expect(received.map((m) => m.header.id)).toEqual(["a", "b", "c", "d"])
      })

      it("R-SEND-3 aborting a suspended send withdraws its message", async () => {
        const b = await make()
        await b.addModule("m", { capacity: 1 })
        await b.send("m", msg("a"))
        const controller = new AbortController()
        const blocked = b.send("m", msg("withdrawn"), { signal: controller.signal })
        await tick()
        controller.abort()
        await rejection(blocked)
        const next = b.send("m", msg("c"), {})
        expect((await b.receive("m")).header.id).toBe("a")
        expect((await b.receive("m")).header.id).toBe("c")
        await next
        expect((await b.snapshot()).modules[0]).toMatchObject({ queued: 0, waitingSenders: 0 })
      })

      it("R-SEND-4 messages are received in the order they were sent", async () => {
        const b = await make(["m"])
        const ids = Array.from({ length: 3000 }, (_, i) => `m${i}`)
        const consumer = (async () => {
          const got = []
          for (let i = 0; i < ids.length; i++) got.push((await b.receive("m")).header.id)
          return got
        })()
        for (const id of ids) await b.send("m", msg(id))
        expect(await consumer).toEqual(ids)
      })

      it("R-SEND-5 sendAll sends in order, waits for room one message at a time, and reports how many a cleanup let in", async () => {
        const b = await make()
        expect(await rejection(b.sendAll("ghost", [msg("a")]))).toMatchObject({ _tag: "ModuleNotFound" })
        await b.addModule("m", { capacity: 2 })
        expect(await b.sendAll("m", [])).toBe(0)
        const sending = b.sendAll(
          "m",
          ["1", "2", "3", "4"].map((id) => msg(id))
        )
        expect(await peek(sending)).toBe("pending")
        // Each message taken admits the waiting sender's next one, which the batch takes too (R-RECV-5):
        // 3 at least; 4 as well if the sender offered it before the batch ended.
        const batch = (await b.receiveAll("m")).map((m) => m.header.id)
        expect(batch.slice(0, 3)).toEqual(["1", "2", "3"])
        expect(await sending).toBe(4)
        const rest = batch.length === 4 ? [] : [(await b.receive("m")).header.id]
        expect([...batch, ...rest]).toEqual(["1", "2", "3", "4"])
        await b.sendAll(
          "m",
          ["5", "6"].map((id) => msg(id))
        )
        const stopped = b.sendAll(
          "m",
          ["7", "8"].map((id) => msg(id))
        )
        await tick()
        expect((await b.cleanup("m")).undelivered.map((m) => m.header.id)).toEqual(["5", "6"])
        expect(await rejection(stopped)).toMatchObject({ _tag: "SendAllClosed", module: "m", accepted: 0, total: 2 })
      })

      it("R-RECV-5 receiveAll takes every waiting message up to max in order, or waits for the first", async () => {
        const b = await make(["m"])
        const waiting = b.receiveAll("m", 2)
        expect(await peek(waiting)).toBe("pending")
        await b.send("m", msg("1"))
        expect((await waiting).map((m) => m.header.id)).toEqual(["1"])
        await b.sendAll(
          "m",
          ["2", "3", "4"].map((id) => msg(id))
        )
        expect((await b.receiveAll("m", 2)).map((m) => m.header.id)).toEqual(["2", "3"])
        expect((await b.receiveAll("m")).map((m) => m.header.id)).toEqual(["4"])
        const closing = b.receiveAll("m")
        await tick()
        await b.cleanup("m")
        expect(await rejection(closing)).toMatchObject({ _tag: "ModuleClosed" })
      })

      it("R-RECV-1 receive on an unknown module fails with ModuleNotFound", async () => {
        const b = await make()
        expect(await rejection(b.receive("ghost"))).toMatchObject({ _tag: "ModuleNotFound" })
      })

      it("R-RECV-2 receive returns the oldest message, or waits for one", async () => {
        const b = await make(["m"])
        await b.send("m", msg("1"))
        await b.send("m", msg("2"))
        expect((await b.receive("m")).header.id).toBe("1")
        expect((await b.receive("m")).header.id).toBe("2")
        const waiting = b.receive("m")
        expect(await peek(waiting)).toBe("pending")
        await b.send("m", msg("3"))
        expect((await waiting).header.id).toBe("3")
      })

      it("R-RECV-3 waiting receivers are served in the order they started waiting", async () => {
        const b = await make(["m"])
        const receivers = [b.receive("m"), b.receive("m"), b.receive("m")]
        await tick()
        expect((await b.snapshot()).modules[0]?.waitingReceivers).toBe(3)
        for (const id of ["x", "y", "z"]) await b.send("m", msg(id))
        expect((await Promise.all(receivers)).map((m) => m.header.id)).toEqual(["x", "y", "z"])
      })

      it("R-RECV-4 an aborted receive takes nothing", async () => {
        const b = await make(["m"])
        const controller = new AbortController()
        const first = b.receive("m", { signal: controller.signal })
        const second = b.receive("m")
        await tick()
        controller.abort()
        await rejection(first)
        await b.send("m", msg("only"))
        expect((await second).header.id).toBe("only")
        expect((await b.snapshot()).modules[0]).toMatchObject({ queued: 0, waitingReceivers: 0 })
      })
    })

    describe("sendSync and sendResp", () => {
      it("R-SYNC-1 the timeout bounds the whole call", async () => {
        const b = await make(["m"])
        const started = Date.now()
        const e = await rejection(b.sendSync("m", msg("r"), 30))
        expect(e).toMatchObject({ _tag: "SyncTimeout", timeoutMs: 30, phase: "response" })
        expect(Date.now() - started).toBeGreaterThanOrEqual(29)
      })

      it("R-SYNC-2 unknown module and duplicate pending ids fail at once", async () => {
        const b = await make(["m"])
        expect((await rejection(b.sendSync("ghost", msg("x"), 1000)))._tag).toBe("ModuleNotFound")
        const first = b.sendSync("m", msg("dup"), 1000)
        await tick()
        expect(await rejection(b.sendSync("m", msg("dup"), 1000))).toMatchObject({
          _tag: "DuplicateRequestId",
          msgId: "dup"
        })
        expect(await rejection(b.sendToGroupSync("ghost-group", msg("dup"), 1000))).toMatchObject({
          _tag: "GroupNotFound"
        })
        await b.addModuleGroup("m", "g")
        expect((await rejection(b.sendToGroupSync("g", msg("dup"), 1000)))._tag).toBe("DuplicateRequestId")
        const request = await b.receive("m")
        await b.sendResp(response(request, "ok"))
        expect((await first).content).toBe("ok")
        expect((await b.snapshot()).modules[0]?.queued).toBe(0)
      })

      it("R-SYNC-3 the delivered request has sync = true; the caller's message is unchanged", async () => {
        const b = await make(["m"])
        const original = msg("req", "how are you", { route: { source: "src", operation: "update" } })
        const call = b.sendSync("m", original, 1000)
        const request = await b.receive("m")
        expect(request.header.sync).toBe(true)
        expect({ ...request, header: { ...request.header, sync: false } }).toEqual(original)
        expect(original.header.sync).toBe(false)
        await b.sendResp(response(request, "fine"))
        await call
      })

      it("R-SYNC-4 the response sendResp accepted is the result", async () => {
        const b = await make(["m"])
        const call = b.sendSync("m", msg("req"), 1000)
        const request = await b.receive("m")
        const resp = response(request, "fine")
        expect(await b.sendResp(resp)).toBe(true)
        expect(await call).toBe(resp)
      })

      it("R-SYNC-5 timeouts say which phase the call was in", async () => {
        const b = await make()
        await b.addModule("full", { capacity: 1 })
        await b.send("full", msg("fill"))
        expect(await rejection(b.sendSync("full", msg("r1"), 20))).toMatchObject({
          _tag: "SyncTimeout",
          msgId: "r1",
          module: "full",
          timeoutMs: 20,
          phase: "enqueue"
        })
        expect((await b.cleanup("full")).undelivered.map((m) => m.header.id)).toEqual(["fill"])
        await b.addModule("silent")
        expect(await rejection(b.sendSync("silent", msg("r2"), 20))).toMatchObject({ phase: "response" })
      })

      it("R-SYNC-6 no reply slot remains after success, timeout, failure or abort", async () => {
        const b = await make(["m"])
        const ok = b.sendSync("m", msg("a"), 1000)
        await b.sendResp(response(await b.receive("m"), 1))
        await ok
        await rejection(b.sendSync("m", msg("b"), 10))
        const controller = new AbortController()
        const aborted = b.sendSync("m", msg("c"), 1000, { signal: controller.signal })
        await tick()
        expect((await b.snapshot()).pendingCalls).toEqual(["c"])
        controller.abort()
        await rejection(aborted)
        const dropped = b.sendSync("m", msg("d"), 1000)
        await tick()
        await b.cleanup("m")
        await rejection(dropped)
        expect((await b.snapshot()).pendingCalls).toEqual([])
      })

      it("R-SYNC-7 a sendSync waiting for room fails with ModuleClosed when the target is cleaned up", async () => {
        const b = await make()
        await b.addModule("full", { capacity: 1 })
        await b.send("full", msg("fill"))
        const call = b.sendSync("full", msg("req"), 60_000)
        await tick()
        const report = await b.cleanup("full")
        expect(report.undelivered.map((m) => m.header.id)).toEqual(["fill"])
        expect(await rejection(call)).toMatchObject({ _tag: "ModuleClosed", module: "full" })
      })

      it("R-SYNC-8 a response accepted while the request waits for room ends the call and withdraws the request", async () => {
        const b = await make()
        await b.addModule("full", { capacity: 1 })
        await b.send("full", msg("fill"))
        const call = b.sendSync("full", msg("req"), 60_000)
        await tick()
        const early = response(msg("req"), "early")
        expect(await b.sendResp(early)).toBe(true)
        expect(await call).toBe(early)
        expect((await b.receive("full")).header.id).toBe("fill")
        expect((await b.snapshot()).modules[0]).toMatchObject({ queued: 0, waitingSenders: 0 })
      })

      it("R-RESP-1 sendResp without a waiting call returns false", async () => {
        const b = await make()
        expect(await b.sendResp(response(msg("nobody"), 1))).toBe(false)
      })

      it("R-RESP-2 a sendSync takes the first response only", async () => {
        const b = await make(["m"])
        const call = b.sendSync("m", msg("req"), 1000)
        const request = await b.receive("m")
        expect(await b.sendResp(response(request, "first", "r1"))).toBe(true)
        expect(await b.sendResp(response(request, "second", "r2"))).toBe(false)
        expect((await call).content).toBe("first")
        expect(await b.sendResp(response(request, "third", "r3"))).toBe(false)
      })
    })

    describe("groups", () => {
      it("R-GROUP-1 sendToGroup to a group without members fails with GroupNotFound", async () => {
        const b = await make()
        expect(await rejection(b.sendToGroup("none", msg("x")))).toMatchObject({ _tag: "GroupNotFound", group: "none" })
      })

      it("R-GROUP-2 one unchanged copy to each member at call time, the sender included", async () => {
        const b = await make(["src", "d1", "d2"])
        for (const m of ["src", "d1", "d2"]) await b.addModuleGroup(m, "g")
        const m = msg("bcast", "fine", { route: { source: "src", group: "g", operation: "delete" } })
        expect(await b.sendToGroup("g", m)).toEqual({ delivered: ["src", "d1", "d2"], gone: [] })
        for (const name of ["src", "d1", "d2"]) expect(await b.receive(name)).toBe(m)
        await b.addModule("late")
        await b.addModuleGroup("late", "g")
        expect((await b.sendToGroup("g", msg("next"))).delivered).toEqual(["src", "d1", "d2", "late"])
      })

      it("R-GROUP-3 sendToGroup waits for full members; members cleaned up meanwhile are reported gone", async () => {
        const b = await make(["free"])
        await b.addModule("full", { capacity: 1 })
        await b.addModule("leaving", { capacity: 1 })
        for (const m of ["free", "full", "leaving"]) await b.addModuleGroup(m, "g")
        await b.send("full", msg("f"))
        await b.send("leaving", msg("l"))
        const call = b.sendToGroup("g", msg("copy"))
        await tick()
        expect(await peek(call)).toBe("pending")
        expect((await b.receive("free")).header.id).toBe("copy")
        await b.cleanup("leaving")
        expect(await peek(call)).toBe("pending")
        expect((await b.receive("full")).header.id).toBe("f")
        expect(await call).toEqual({ delivered: ["free", "full"], gone: ["leaving"] })
        expect((await b.receive("full")).header.id).toBe("copy")
      })

      it("R-GROUP-4 successive broadcasts from one sender arrive in order at every member", async () => {
        const b = await make(["a", "b"])
        await b.addModuleGroup("a", "g")
        await b.addModuleGroup("b", "g")
        const ids = Array.from({ length: 1500 }, (_, i) => `b${i}`)
        const consume = async (name: string) => {
          const got = []
          for (let i = 0; i < ids.length; i++) got.push((await b.receive(name)).header.id)
          return got
        }
        const consumers = [consume("a"), consume("b")]
        for (const id of ids) await b.sendToGroup("g", msg(id))
        for (const got of await Promise.all(consumers)) expect(got).toEqual(ids)
      })

      it("R-GROUP-5 aborting sendToGroup withdraws the copies not yet accepted", async () => {
        const b = await make(["free"])
        await b.addModule("full", { capacity: 1 })
        await b.addModuleGroup("free", "g")
        await b.addModuleGroup("full", "g")
        await b.send("full", msg("f"))
        const controller = new AbortController()
        const call = b.sendToGroup("g", msg("copy"), { signal: controller.signal })
        await tick()
        controller.abort()
        await rejection(call)
        expect((await b.cleanup("full")).undelivered.map((m) => m.header.id)).toEqual(["f"])
        expect((await b.receive("free")).header.id).toBe("copy")
      })
    })

    describe("sendToGroupSync", () => {
      const group = async (members: ReadonlyArray<string>, options?: BeehiveOptions) => {
        const b = await make(members, options)
        for (const m of members) await b.addModuleGroup(m, "g")
        return b
      }

      it("R-GSYNC-1 sync copies go to the members fixed at call time", async () => {
        const b = await group(["a", "b"])
        const call = b.sendToGroupSync("g", msg("req"), 1000)
        await b.addModule("late")
        await b.addModuleGroup("late", "g")
        const copies = [await b.receive("a"), await b.receive("b")]
        expect(copies.map((c) => [c.header.id, c.header.sync])).toEqual([
          ["req", true],
          ["req", true]
        ])
        await b.sendResp(response(copies[0] as Message.Message, "A"), "a")
        await b.sendResp(response(copies[1] as Message.Message, "B"), "b")
        expect([...(await call).responses.keys()]).toEqual(["a", "b"])
        expect((await b.snapshot()).modules.find((m) => m.name === "late")?.queued).toBe(0)
      })

      it("R-GSYNC-2 completes when every member answered once, with the responses by member", async () => {
        const b = await group(["a", "b", "c"])
        const call = b.sendToGroupSync("g", msg("req"), 5000)
        for (const m of ["c", "a"]) await b.sendResp(response(await b.receive(m), m, `r-${m}`), m)
        expect(await peek(call)).toBe("pending")
        await b.sendResp(response(await b.receive("b"), "b", "r-b"), "b")
        const result = await call
        expect([...result.responses].map(([m, r]) => [m, r.content])).toEqual([
          ["c", "c"],
          ["a", "a"],
          ["b", "b"]
        ])
        expect(result.anonymous).toEqual([])
      })

      it("R-GSYNC-3 a second answer from a member, or one from a non-member, is uninvited", async () => {
        const b = await group(["a", "b"])
        const call = b.sendToGroupSync("g", msg("req"), 5000)
        const copy = await b.receive("a")
        expect(await b.sendResp(response(copy, 1, "r1"), "a")).toBe(true)
        expect(await b.sendResp(response(copy, 2, "r2"), "a")).toBe(false)
        expect(await b.sendResp(response(copy, 3, "r3"), "stranger")).toBe(false)
        expect(await peek(call)).toBe("pending")
        expect(await b.sendResp(response(await b.receive("b"), 4, "r4"), "b")).toBe(true)
        expect(await rejection(call)).toMatchObject({
          _tag: "GroupSyncError",
          reason: "Uninvited",
          uninvited: 2,
          responded: ["a", "b"],
          missing: []
        })
      })

      it("R-GSYNC-4 at the deadline the call fails with Timeout listing the missing members", async () => {
        const b = await group(["a", "b", "c"])
        const call = b.sendToGroupSync("g", msg("req"), 40)
        await b.sendResp(response(await b.receive("b"), "b"), "b")
        expect(await rejection(call)).toMatchObject({
          _tag: "GroupSyncError",
          reason: "Timeout",
          msgId: "req",
          group: "g",
          missing: ["a", "c"],
          responded: ["b"],
          uninvited: 0
        })
      })

      it("R-GSYNC-5 a member cleaned up before answering ends the call as soon as the others answered", async () => {
        const b = await group(["a", "b"])
        const started = Date.now()
        const call = b.sendToGroupSync("g", msg("req"), 60_000)
        await b.sendResp(response(await b.receive("a"), "a"), "a")
        await b.cleanup("b")
        expect(await rejection(call)).toMatchObject({ reason: "MemberGone", missing: ["b"], responded: ["a"] })
        expect(Date.now() - started).toBeLessThan(5000)
        const lonely = await group(["solo"])
        const alone = lonely.sendToGroupSync("g", msg("req2"), 60_000)
        await tick()
        await lonely.cleanup("solo")
        expect(await rejection(alone)).toMatchObject({ reason: "MemberGone", missing: ["solo"] })
      })

      it("R-GSYNC-6 unattributed answers count while members are missing, then are uninvited", async () => {
        const b = await group(["a", "b"])
        const call = b.sendToGroupSync("g", msg("req"), 5000)
        const copy = await b.receive("a")
        expect(await b.sendResp(response(copy, 1, "x1"))).toBe(true)
        expect(await b.sendResp(response(copy, 2, "x2"), "b")).toBe(true)
        const result = await call
        expect([...result.responses.keys()]).toEqual(["b"])
        expect(result.anonymous.map((r) => r.header.id)).toEqual(["x1"])
        expect(await b.sendResp(response(copy, 3, "x3"))).toBe(false)

        const c = await group(["p", "q"])
        const second = c.sendToGroupSync("g", msg("req2"), 5000)
        const copy2 = await c.receive("p")
        expect(await c.sendResp(response(copy2, 1, "y1"), "p")).toBe(true)
        expect(await c.sendResp(response(copy2, 2, "y2"))).toBe(true)
        expect((await second).responses.size).toBe(1)
      })

      it("R-GSYNC-7 no collector and no pending copy remains after the call", async () => {
        const b = await make(["a"])
        await b.addModule("full", { capacity: 1 })
        await b.addModuleGroup("a", "g")
        await b.addModuleGroup("full", "g")
        await b.send("full", msg("f"))
        await rejection(b.sendToGroupSync("g", msg("req"), 20))
        const snap = await b.snapshot()
        expect(snap.pendingCalls).toEqual([])
        expect(snap.modules.find((m) => m.name === "full")).toMatchObject({ queued: 1, waitingSenders: 0 })
        const controller = new AbortController()
        const aborted = b.sendToGroupSync("g", msg("req2"), 5000, { signal: controller.signal })
        await tick()
        controller.abort()
        await rejection(aborted)
        expect((await b.snapshot()).pendingCalls).toEqual([])
      })
    })

    describe("global context", () => {
      it("R-GLOBAL-3 shutdown cleans up every module, cancels pending calls, and reports once", async () => {
        const b = await make(["a", "b"])
        await b.send("a", msg("left-behind"))
        const call = b.sendSync("b", msg("req"), 60_000)
        await b.receive("b")
        const waiting = b.receive("a")
        const report = await b.close()
        expect(report.cleanups.map((c) => [c.module, c.undelivered.length])).toEqual([
          ["a", 0],
          ["b", 0]
        ])
        expect(report.cancelledCalls).toBe(1)
        expect(await rejection(call)).toMatchObject({ _tag: "BeehiveShutdown" })
        expect((await waiting).header.id).toBe("left-behind")
        expect(await b.close()).toEqual(report)
      })

      it("R-GLOBAL-4 every operation after shutdown fails with BeehiveShutdown", async () => {
        const b = await make(["a"])
        await b.close()
        for (const op of [b.addModule("x"), b.send("a", msg("1")), b.receive("a"), b.sendSync("a", msg("2"))]) {
          expect((await rejection(op))._tag).toBe("BeehiveShutdown")
        }
      })

      it("R-GLOBAL-5 snapshot shows modules, groups and pending calls", async () => {
        const b = await make(["a"])
        await b.addModuleGroup("a", "g")
        await b.send("a", msg("x"))
        const call = b.sendSync("a", msg("req"), 1000)
        await tick()
        const snap = await b.snapshot()
        expect(snap).toEqual({
          modules: [
            { name: "a", contextType: "channel", groups: ["g"], queued: 2, waitingReceivers: 0, waitingSenders: 0 }
          ],
          groups: new Map([["g", ["a"]]]),
          pendingCalls: ["req"],
          isShutdown: false
        })
        await b.receive("a")
        await b.sendResp(response(await b.receive("a"), 1))
        await call
      })
    })
  })
