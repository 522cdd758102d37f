import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * Real PEMs for pure tests, made once with the openssl CLI when first asked for: a root, an
 * intermediate it signed, a leaf, and a private key.
 */
export interface Pems {
    root: string;
    intermediate: string;
    leaf: string;
    key: string;
}

let made: Pems | undefined;

export function pems(): Pems {
    if (made !== undefined) return made;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-pems-"));
    try {
        const p = (f: string) => path.join(dir, f);
        const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] });
        const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        openssl("req", "-x509", ...ec, "-keyout", p("root.key"), "-subj", "/CN=Pems Root", "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE", "-out", p("root.crt"));
        openssl("req", ...ec, "-keyout", p("int.key"), "-subj", "/CN=Pems Intermediate", "-out", p("int.csr"));
        fs.writeFileSync(p("ca.ext"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n");
        openssl("x509", "-req", "-in", p("int.csr"), "-CA", p("root.crt"), "-CAkey", p("root.key"), "-set_serial", "2", "-days", "2", "-extfile", p("ca.ext"), "-out", p("int.crt"));
        openssl("req", ...ec, "-keyout", p("leaf.key"), "-subj", "/CN=leaf.test", "-out", p("leaf.csr"));
        openssl("x509", "-req", "-in", p("leaf.csr"), "-CA", p("int.crt"), "-CAkey", p("int.key"), "-set_serial", "3", "-days", "2", "-out", p("leaf.crt"));
        const read = (f: string) => fs.readFileSync(p(f), "utf8");
        made = { root: read("root.crt"), intermediate: read("int.crt"), leaf: read("leaf.crt"), key: read("leaf.key") };
        return made;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
