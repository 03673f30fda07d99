import { describe, expect, it } from "vitest"
import * as Index from "../src/index.ts"
import * as P from "../src/promise.ts"
import { conformance } from "./support/conformance.ts"
import { facadeDriver, rejection } from "./support/drivers.ts"

conformance("Promise facade", facadeDriver)

describe("Promise facade", () => {
  it("R-API-2 rejections are the tagged error objects", async () => {
    const hive = P.createBeehive()
    const e = await rejection(hive.receive("ghost"))
    expect(e).toBeInstanceOf(P.ModuleNotFound)
    expect(e).toBeInstanceOf(Error)
    expect(e._tag).toBe("ModuleNotFound")
    expect(e.message).toBe('module "ghost" is not registered')
    await hive.close()
  })

  it("R-API-2 the message helpers are synchronous and Go-compatible", () => {
    const request = P.setRoute(P.newMessage(), "sourcemodule", "g")
    expect(request.header.id).toMatch(/^[0-9a-f-]{36}$/)
    const resp = P.newResponse(request, "fine")
    expect(resp.header.parentId).toBe(request.header.id)
    expect(P.newErrorResponse(request, "bad").route.operation).toBe(P.ResponseErrorOperation)
    expect(P.clone(request).header.id).not.toBe(request.header.id)
    expect(P.updateId(request).route).toEqual(request.route)
    const m = P.makeMessage({ header: { id: "x", timestamp: 1 } })
    expect(P.encodeJson(m)).toBe('{"header":{"msg_id":"x","timestamp":1},"route":{},"content":null}')
    expect(P.decodeJson(P.encodeJson(m))).toEqual(m)
    expect(() => P.decodeJson("{}")).toThrow(P.MessageDecodeError)
    expect(() => P.encodeJson(P.fillBody(m, Number.NaN))).toThrow(P.MessageEncodeError)
    expect(P.formatMessage(m)).toContain("MessageID: x")
  })

  it("R-API-2 R-GLOBAL-4 after close operations answer as after shutdown; close twice gives one report", async () => {
    const hive = P.createBeehive()
    await hive.addModule("m")
    const report = await hive.close()
    expect(await hive.close()).toBe(report)
    for (const op of [hive.addModule("x"), hive.snapshot(), hive.send("m", P.newMessage()), hive.receive("m")]) {
      expect(await rejection(op)).toBeInstanceOf(P.BeehiveShutdown)
    }
    expect(await hive.sendResp(P.newMessage())).toBe(false)
    expect(await rejection(hive.cleanup("m"))).toMatchObject({ _tag: "ModuleNotFound", module: "m" })
  })

  it("R-API-1 the package entry exports the Effect API", () => {
    for (const name of ["Beehive", "Registry", "ChannelContext", "Message", "MessageJson", "CurrentModule"]) {
      expect(Index).toHaveProperty(name)
    }
    expect(Index.Beehive.layer).toBeDefined()
    expect(typeof Index.Beehive.layerWith).toBe("function")
  })
})
