// npm run bench:fleet: 10,000 hosts renewing on their cert-renewer timers (ACME or step-ca), three
// months simulated minute by minute, and the CA's load: peak and mean renewals per minute, each
// month. A timer fires every 5 minutes plus up to 5 minutes of jitter (RENEWER_DEFAULTS); a host
// renews at the first firing past its due point; the new certificate lasts 720 h from then.
// Certificates are issued all at once (one `pulumi up` for the fleet) or spread over a lifetime, and
// due at a fixed fraction of the lifetime (two thirds) or at the host's own point of a window (the
// default: needs-renewal derives it from the machine ID). Pure and seeded: no host, no CA.
import { RENEWER_DEFAULTS, renewalFraction } from "../components";

const HOSTS = Number(process.env.FLEET ?? 10_000);
const LIFETIME_MIN = 720 * 60;
const MONTHS = 3;
const MONTH_MIN = 30 * 24 * 60;

/** A small seeded generator (mulberry32), so every run prints the same figures. */
function rng(seed: number): () => number {
    return () => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

interface Strategy {
    name: string;
    /** The fraction of the lifetime at which host `i` is due (`u`: a uniform draw for it). */
    due(i: number, u: number): number;
}

/** Renewals per minute of the simulated months, for certificates first issued at `issued(i)`. */
function simulate(issued: (i: number) => number, strategy: Strategy, random: () => number): Uint32Array {
    const load = new Uint32Array(MONTHS * MONTH_MIN);
    for (let i = 0; i < HOSTS; i++) {
        const fraction = strategy.due(i, random());
        let start = issued(i);
        for (;;) {
            const due = start + fraction * LIFETIME_MIN;
            // The first timer firing at or after `due`: the 5-minute grid, plus this firing's jitter.
            let t = Math.ceil(due / 5) * 5 + random() * 5;
            if (t < due) t += 5;
            if (t >= load.length) break;
            if (t >= 0) load[Math.floor(t)]++;
            start = t;
        }
    }
    return load;
}

function monthly(load: Uint32Array): { peak: number; peakHour: number; mean: number }[] {
    return Array.from({ length: MONTHS }, (_, m) => {
        const month = load.subarray(m * MONTH_MIN, (m + 1) * MONTH_MIN);
        let peak = 0;
        let total = 0;
        let hour = 0;
        let peakHour = 0;
        for (let i = 0; i < month.length; i++) {
            peak = Math.max(peak, month[i]);
            total += month[i];
            hour += month[i] - (i >= 60 ? month[i - 60] : 0);
            peakHour = Math.max(peakHour, hour / 60);
        }
        return { peak, peakHour, mean: total / month.length };
    });
}

const fixed = RENEWER_DEFAULTS.renewAfterPercent / 100;
const [from, to] = RENEWER_DEFAULTS.renewWindowPercent;
const strategies: Strategy[] = [
    { name: `fixed at ${RENEWER_DEFAULTS.renewAfterPercent}% (renewAfterPercent ${RENEWER_DEFAULTS.renewAfterPercent})`, due: () => fixed },
    { name: "spread over 50-83% (for comparison)", due: (_, u) => 0.5 + u * 0.33 },
    // What needs-renewal computes on each host, here from machine IDs 0, 1, 2, ... in hex.
    { name: `each host's own point of ${from}-${to}% (the default)`, due: (i) => renewalFraction(i.toString(16).padStart(32, "0")) },
];
const issuing: { name: string; issued: (random: () => number) => (i: number) => number }[] = [
    // The fleet's certificates, already in their second month, as one `pulumi up` issued them.
    { name: "issued at once", issued: () => () => 0 },
    { name: "issued over a lifetime", issued: (random) => () => -random() * LIFETIME_MIN },
];

console.log(`${HOSTS} hosts, 720 h certificates, timers every 5 min + up to 5 min jitter; renewals per minute at the CA, by month\n`);
console.log("| issued | due | month | peak minute | peak hour (per min) | mean | peak hour / mean |");
console.log("|---|---|---:|---:|---:|---:|---:|");
for (const w of issuing) {
    for (const s of strategies) {
        const random = rng(1);
        monthly(simulate(w.issued(random), s, random)).forEach((r, m) =>
            console.log(`| ${w.name} | ${s.name} | ${m + 1} | ${r.peak} | ${r.peakHour.toFixed(2)} | ${r.mean.toFixed(2)} | ${(r.peakHour / r.mean).toFixed(2)} |`),
        );
    }
}
