import { strict as assert } from "node:assert";

export interface Served {
    serial: string;
    valid: boolean;
    verify: string;
}

/**
 * Makes the renewer's timer fire every 2 seconds and waits up to a minute for Redis to serve a new
 * serial, which must verify. `serviceLines` go into a drop-in of the service (e.g. to make renewal
 * due at once); the caller removes them. Returns what Redis serves then.
 */
export async function renewByTimer(
    sh: (command: string) => Promise<string>,
    units: { timer: string; service: string; serviceLines?: string },
    served: () => Promise<Served>,
    before: Served,
): Promise<Served> {
    const timerDir = `/etc/systemd/system/${units.timer}.d`;
    const serviceDir = `/etc/systemd/system/${units.service}.d`;
    const service = units.serviceLines === undefined ? "" : ` && mkdir -p ${serviceDir} && printf '[Service]\\n${units.serviceLines}\\n' > ${serviceDir}/zz-test.conf`;
    await sh(`mkdir -p ${timerDir} && printf '[Timer]\\nOnCalendar=\\nOnCalendar=*:*:0/2\\nRandomizedDelaySec=0\\n' > ${timerDir}/test.conf${service} && systemctl daemon-reload && systemctl restart ${units.timer}`);
    let after = before;
    for (let i = 0; i < 60 && after.serial === before.serial; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        after = await served();
    }
    assert.notEqual(after.serial, before.serial, "the timer never renewed");
    assert.equal(after.valid, true, after.verify);
    return after;
}
