import * as fs from "node:fs";
import * as path from "node:path";
import { check } from "./run";

/**
 * A root and an intermediate made with the openssl CLI, standing in for the CA that `@pulumi/tls`
 * keeps in Pulumi state; it signs CSRs the way the provider's LocallySignedCert does (SANs copied
 * from the CSR, serverAuth and clientAuth).
 */
export class TestCa {
    readonly rootCert: string;
    readonly intermediateCert: string;
    private serial = 1;

    private constructor(private readonly dir: string) {
        this.rootCert = fs.readFileSync(path.join(dir, "root.crt"), "utf8");
        this.intermediateCert = fs.readFileSync(path.join(dir, "int.crt"), "utf8");
    }

    static async create(dir: string, name = "Test"): Promise<TestCa> {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        const p = (f: string) => path.join(dir, f);
        const ecKey = ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
        await check("openssl", [...ecKey, "-out", p("root.key")]);
        await check("openssl", ["req", "-x509", "-new", "-key", p("root.key"), "-subj", `/CN=${name} Root`, "-days", "30",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", p("root.crt")]);
        await check("openssl", [...ecKey, "-out", p("int.key")]);
        await check("openssl", ["req", "-new", "-key", p("int.key"), "-subj", `/CN=${name} Intermediate`, "-out", p("int.csr")]);
        fs.writeFileSync(p("int.ext"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n");
        await check("openssl", ["x509", "-req", "-in", p("int.csr"), "-CA", p("root.crt"), "-CAkey", p("root.key"), "-set_serial", "1000",
            "-days", "30", "-extfile", p("int.ext"), "-out", p("int.crt")]);
        return new TestCa(dir);
    }

    /**
     * Signs a CSR for 30 days, or, with `expired`, for January 2020; `ext` replaces the leaf
     * extensions (serverAuth and clientAuth, not a CA), e.g. to sign a leaf that claims to be a CA.
     */
    async sign(csrPem: string, opts: { expired?: boolean; ext?: string } = {}): Promise<string> {
        const p = (f: string) => path.join(this.dir, f);
        const n = this.serial++;
        fs.writeFileSync(p(`leaf${n}.csr`), csrPem);
        const ext = opts.ext ?? "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n";
        if (opts.expired) {
            // `openssl x509` (3.0) cannot set dates in the past; `openssl ca` can.
            fs.writeFileSync(p("index.txt"), "");
            fs.writeFileSync(p("serial"), `${(3000 + n).toString(16).padStart(4, "0")}\n`);
            fs.writeFileSync(p("ca.cnf"), `[ca]\ndefault_ca=d\n[d]\ndatabase=${p("index.txt")}\nserial=${p("serial")}\nnew_certs_dir=${this.dir}\n` +
                `default_md=sha256\npolicy=pol\ncopy_extensions=copy\nunique_subject=no\nx509_extensions=ext\n[pol]\ncommonName=supplied\n[ext]\n${ext}`);
            await check("openssl", ["ca", "-batch", "-config", p("ca.cnf"), "-in", p(`leaf${n}.csr`), "-cert", p("int.crt"), "-keyfile", p("int.key"),
                "-startdate", "20200101000000Z", "-enddate", "20200201000000Z", "-notext", "-out", p(`leaf${n}.crt`)]);
        } else {
            fs.writeFileSync(p("leaf.ext"), ext);
            await check("openssl", ["x509", "-req", "-in", p(`leaf${n}.csr`), "-CA", p("int.crt"), "-CAkey", p("int.key"),
                "-set_serial", String(2000 + n), "-copy_extensions", "copy", "-extfile", p("leaf.ext"), "-days", "30", "-out", p(`leaf${n}.crt`)]);
        }
        return fs.readFileSync(p(`leaf${n}.crt`), "utf8");
    }

    /** The bundle the components send to a host: leaf, intermediate, root. */
    bundle(leafPem: string): string {
        return [leafPem, this.intermediateCert, this.rootCert].map((s) => s.trim()).join("\n") + "\n";
    }

    /** A client certificate and key signed by this CA, for connecting under tls-auth-clients yes. */
    async client(name: string): Promise<{ cert: string; key: string }> {
        const p = (f: string) => path.join(this.dir, f);
        await check("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", p(`${name}.key`)]);
        const csr = await check("openssl", ["req", "-new", "-key", p(`${name}.key`), "-subj", `/CN=${name}`]);
        const cert = await this.sign(csr);
        return { cert: cert + this.intermediateCert, key: fs.readFileSync(p(`${name}.key`), "utf8") };
    }
}
