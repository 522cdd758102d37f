import { strict as assert } from "node:assert";
import fc from "fast-check";
import { defaultRenewBeforeHours, reissuedBy, renewalDeadline, renewalSlot } from "../components";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);

// Renewal by `pulumi up` depends only on the clock handed in, so it is tested with explicit times.
describe("pulumi up re-issues a certificate once it is inside its renewal window", () => {
    it("uses the last third of the lifetime as the default window (240h of 720h)", () => {
        assert.equal(defaultRenewBeforeHours(720), 240);
    });

    it("does not re-issue within the slot the certificate was issued in", () => {
        const slotStart = renewalSlot(T0, 480) * 480 * HOUR;
        assert.equal(reissuedBy(slotStart, slotStart + 480 * HOUR - 1, 480), false);
    });

    it("re-issues from the first run after the slot ends", () => {
        const slotStart = renewalSlot(T0, 480) * 480 * HOUR;
        assert.equal(reissuedBy(slotStart, slotStart + 480 * HOUR, 480), true);
    });

    it("reports the deadline a preview will first show the replacement at", () => {
        const deadline = renewalDeadline(T0, 480);
        assert.equal(reissuedBy(T0, deadline.getTime() - 1, 480), false);
        assert.equal(reissuedBy(T0, deadline.getTime(), 480), true);
    });

    it("any run at or after two thirds of the lifetime re-issues; no run re-issues twice within one slot", () => {
        fc.assert(
            fc.property(
                fc.integer({ min: 24, max: 20_000 }),
                fc.integer({ min: 0, max: 4_000_000_000_000 }),
                fc.integer({ min: 0, max: 10 * 20_000 * HOUR }),
                (validity, issuedAt, later) => {
                    const renewAfter = validity - defaultRenewBeforeHours(validity);
                    const runAt = issuedAt + later;
                    if (later >= renewAfter * HOUR) assert.equal(reissuedBy(issuedAt, runAt, renewAfter), true);
                    if (reissuedBy(issuedAt, runAt, renewAfter)) assert.ok(runAt >= renewalDeadline(issuedAt, renewAfter).getTime());
                    // A certificate is never older than renewAfter at the first run that keeps it.
                    if (!reissuedBy(issuedAt, runAt, renewAfter)) assert.ok(later < renewAfter * HOUR);
                },
            ),
        );
    });
});
