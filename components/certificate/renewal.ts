/**
 * Renewal by `pulumi up` for certificates signed from Pulumi state.
 *
 * Time is cut into slots of `renewAfterHours` (two thirds of the lifetime by default), counted from
 * the Unix epoch. The current slot number is an input of the CSR step, so when a new slot begins the
 * next `pulumi preview` shows the certificate being replaced, and `pulumi up` replaces it. A certificate
 * issued at time t lives in slot floor(t / R); any run at t + R or later is in a later slot, so every
 * certificate is re-issued by the first run once it is inside its renewal window, and never by a run
 * inside the same slot. The decision depends only on the clock, so it is deterministic and testable.
 */

const HOUR_MS = 3_600_000;

/** The default renewal window: the last third of the lifetime, as smallstep's renewer uses. */
export function defaultRenewBeforeHours(validityHours: number): number {
    return Math.floor(validityHours / 3);
}

/** The slot number for a moment, given how long a certificate may serve before renewal. */
export function renewalSlot(nowMs: number, renewAfterHours: number): number {
    return Math.floor(nowMs / (renewAfterHours * HOUR_MS));
}

/** When the slot containing `nowMs` ends: the first moment a run re-issues the certificate. */
export function renewalDeadline(nowMs: number, renewAfterHours: number): Date {
    return new Date((renewalSlot(nowMs, renewAfterHours) + 1) * renewAfterHours * HOUR_MS);
}

/** Whether a run at `nowMs` re-issues a certificate that was issued at `issuedAtMs`. */
export function reissuedBy(issuedAtMs: number, nowMs: number, renewAfterHours: number): boolean {
    return renewalSlot(nowMs, renewAfterHours) > renewalSlot(issuedAtMs, renewAfterHours);
}
