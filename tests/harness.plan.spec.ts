import { strict as assert } from "node:assert";
import { plan } from "./harness/plan";

// The steps the harness takes for docker:* changes, as terraform-provider-docker v4.5's schema says.
describe("harness: plans for docker:* resources", () => {
    const container = { image: "i", envs: ["A=1", "B=2"], restart: "no", healthcheck: { tests: ["CMD", "true"] } };
    const step = (inputs: Record<string, unknown>, type = "docker:index/container:Container", old = container) => plan(type, { inputs: old }, { ...old, ...inputs });

    it("a set-typed field in another order is no change; another value replaces", () => {
        assert.equal(step({ envs: ["B=2", "A=1"] }), "same");
        assert.equal(step({ envs: ["A=1", "B=3"] }), "replace");
    });

    it("restart and the resource limits update in place; healthcheck only reaches state; the image replaces", () => {
        assert.equal(step({ restart: "always" }), "update");
        assert.equal(step({ memoryReservation: 64 }), "update");
        assert.equal(step({ healthcheck: { tests: ["CMD", "false"] } }), "update");
        assert.equal(step({ image: "j" }), "replace");
    });

    it("networks and volumes replace on any change", () => {
        assert.equal(plan("docker:index/network:Network", { inputs: { name: "n" } }, { name: "n", internal: true }), "replace");
        assert.equal(plan("docker:index/volume:Volume", { inputs: { name: "v" } }, { name: "v", labels: [{ label: "a", value: "b" }] }), "replace");
    });
});
