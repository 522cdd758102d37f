import { strict as assert } from "node:assert";
import fc from "fast-check";
import { checkDnsName, checkIpAddress, subjectAltName } from "../components";

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
const dnsName = fc.array(label, { minLength: 1, maxLength: 5 }).map((ls) => ls.join("."));

describe("name and SAN validation (properties)", () => {
    it("accepts every RFC 1123 host name of labels up to 63 characters", () => {
        fc.assert(
            fc.property(dnsName, (name) => {
                fc.pre(!/^[0-9.]+$/.test(name));
                assert.equal(checkDnsName("dnsNames", name), undefined, name);
            }),
        );
    });

    it("rejects any name with a character outside letters, digits, dots and hyphens", () => {
        const bad = fc.constantFrom("_", " ", "/", "'", '"', "$", ";", "\n", "*", "@", "\\");
        fc.assert(
            fc.property(dnsName, bad, fc.nat(), (name, ch, at) => {
                const i = at % (name.length + 1);
                const broken = name.slice(0, i) + ch + name.slice(i);
                assert.notEqual(checkDnsName("dnsNames", broken), undefined, broken);
            }),
        );
    });

    it("accepts every unicast IPv4 and IPv6 address, and rejects it with a prefix length", () => {
        fc.assert(
            fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 0, max: 128 }), (ip, prefix) => {
                fc.pre(ip !== "0.0.0.0" && ip !== "::");
                assert.equal(checkIpAddress("ipAddresses", ip), undefined);
                assert.notEqual(checkIpAddress("ipAddresses", `${ip}/${prefix}`), undefined);
            }),
        );
    });

    it("renders a subjectAltName that lists exactly the DNS names, then the IPs, in order", () => {
        fc.assert(
            fc.property(fc.uniqueArray(dnsName, { maxLength: 4 }), fc.uniqueArray(fc.ipV4(), { maxLength: 3 }), (dns, ips) => {
                const parsed = subjectAltName(dns, ips)
                    .split(",")
                    .filter((s) => s !== "")
                    .map((entry) => entry.split(/:(.*)/s).slice(0, 2));
                assert.deepEqual(parsed, [...dns.map((d) => ["DNS", d]), ...ips.map((ip) => ["IP", ip])]);
            }),
        );
    });
});
