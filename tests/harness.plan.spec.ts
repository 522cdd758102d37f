import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkImage } from "./harness/docker";
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

    it("an image updates (is built again) on any change, never replaces", () => {
        const image = { imageName: "a:1", build: { context: "c", dockerfile: "c/Dockerfile", args: { BASE: "x" }, contextDigest: "d1" }, skipPush: true };
        assert.equal(plan("docker:index/image:Image", { inputs: image }, { ...image, imageName: "a:2" }), "update");
        assert.equal(plan("docker:index/image:Image", { inputs: image }, { ...image, build: { ...image.build, contextDigest: "d2" } }), "update");
        assert.equal(plan("docker:index/image:Image", { inputs: image }, image), "same");
    });

    it("an image's Check opens the Dockerfile (at preview too) and hashes the context: content and mode are inputs", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "harness-image-"));
        try {
            const inputs = { imageName: "a:1", build: { context: dir, dockerfile: path.join(dir, "Dockerfile") }, skipPush: true };
            assert.throws(() => checkImage(inputs), /expected a relative Dockerfile path/);
            assert.throws(() => checkImage({ ...inputs, build: { context: "nowhere", dockerfile: "nowhere/Dockerfile" } }), /could not open dockerfile at relative path nowhere\/Dockerfile/);
            fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM scratch\n");
            const digest = () => checkImage(inputs).build.contextDigest;
            const first = digest();
            assert.equal(digest(), first);
            fs.chmodSync(path.join(dir, "Dockerfile"), 0o600);
            assert.notEqual(digest(), first, "a mode change is a change");
            fs.chmodSync(path.join(dir, "Dockerfile"), 0o644);
            assert.equal(digest(), first);
            fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM scratch\nUSER 1\n");
            assert.notEqual(digest(), first, "a content change is a change");
            // Defaults: context ".", dockerfile "<context>/Dockerfile" (none in the repository's root).
            assert.throws(() => checkImage({ imageName: "a:1", skipPush: true }), /could not open dockerfile at relative path Dockerfile$/);
            assert.throws(() => checkImage({ ...inputs, skipPush: false }), /locally only/);
            assert.throws(() => checkImage({ ...inputs, build: { ...inputs.build, target: "x" } }), /does not perform docker image fields build.target/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("networks and volumes replace on any change", () => {
        assert.equal(plan("docker:index/network:Network", { inputs: { name: "n" } }, { name: "n", internal: true }), "replace");
        assert.equal(plan("docker:index/volume:Volume", { inputs: { name: "v" } }, { name: "v", labels: [{ label: "a", value: "b" }] }), "replace");
    });
});
