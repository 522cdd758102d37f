import { strict as assert } from "node:assert";
import * as path from "node:path";
import { check } from "./support/run";
import { LocalRedis, USERS } from "./support/localRedis";
import { commands } from "./support/tlsClient";

// What an attacker gets from a certificate the CA issued, against real redis-server configured by
// the rendered drop-in and users.acl: the TLS handshake, and then nothing without an ACL login.
describe("a certificate from the CA is an identity, not an admin key (real redis-server)", function () {
    this.timeout(60_000);
    let local: LocalRedis;
    let otherServer: { cert: string; key: string };
    let unmappedClient: { cert: string; key: string };

    // Everything a holder of a certificate once could do: read, change the listener, persist it.
    const ATTEMPTS = [
        "PING",
        "GET secret",
        "CONFIG GET tls-key-file-pass",
        "CONFIG SET tls-auth-clients no",
        "CONFIG SET port 6390",
        "ACL SETUSER evil on >x ~* +@all",
        "CONFIG REWRITE",
        "FLUSHALL",
    ];

    before(async () => {
        local = await LocalRedis.start();
        // Another server's certificate: server certificates carry clientAuth for replication.
        const key = path.join(local.dir, "other-server.key");
        await check("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]);
        const csr = await check("openssl", ["req", "-new", "-key", key, "-subj", "/CN=redis-2.test", "-addext", "subjectAltName=DNS:redis-2.test"]);
        otherServer = { cert: (await local.ca.sign(csr)) + local.ca.intermediateCert, key: await check("cat", [key]) };
        unmappedClient = await local.ca.client("someone");
        assert.equal((await local.cli(["SET", "secret", "s3cret"])).stdout.trim(), "OK");
    });
    after(() => local?.stop());

    for (const [who, cert] of [["another server's certificate", () => otherServer], ["a client certificate whose CN maps to no user", () => unmappedClient]] as const) {
        it(`${who} completes the TLS handshake and then gets NOAUTH for every command`, async () => {
            const replies = await commands(local.conn({ cert: cert() }), ATTEMPTS);
            assert.deepEqual(replies.map((r, i) => [ATTEMPTS[i], r.split(" ")[0]]), ATTEMPTS.map((a) => [a, "-NOAUTH"]));
        });
    }

    it("the default user is off: logging in as it, with any password, is refused", async () => {
        for (const line of ["AUTH default x", "AUTH x", "HELLO 3 AUTH default x"]) {
            assert.match((await commands(local.conn(), [line]))[0], /^-WRONGPASS/, line);
        }
        assert.match((await local.cli(["ACL", "GETUSER", "default"])).stdout, /^off$/m);
    });

    it("the admin cannot persist or escalate: CONFIG REWRITE, ACL SAVE, DEBUG and MODULE are refused", async () => {
        const auth = { user: USERS.admin, pass: local.pass("admin") };
        const replies = await commands({ ...local.conn(), auth }, ["CONFIG REWRITE", "ACL SAVE", "ACL LOAD", "DEBUG SLEEP 0", "MODULE LOAD /tmp/x.so", "MODULE LIST", "GET secret"]);
        assert.deepEqual(replies.slice(0, 6).map((r) => /^-(NOPERM|ERR DEBUG command not allowed|ERR MODULE command not allowed)/.test(r)), [true, true, true, true, true, true], replies.join("\n"));
        assert.equal(replies[6], "$6");
    });

    it("no identity may move dir or dbfilename (protected configs), not even the admin", async () => {
        const r = await local.cli(["CONFIG", "SET", "dir", "/tmp"]);
        assert.match(r.stdout, /can't set protected config/);
    });

    it("the admin's and reload user's passwords exist only in root-only files; Redis holds their SHA-256", async () => {
        const acl = (await check("cat", [local.files.usersAcl])).split("\n");
        assert.match(acl[0], /^user default reset off$/);
        for (const who of ["admin", "reload"] as const) {
            assert.equal((await check("stat", ["-c", "%U %a", who === "admin" ? local.files.adminPass : local.files.reloadPass])).trim(), "root 600");
            assert.equal(acl.some((l) => l.includes(local.pass(who))), false);
        }
        assert.equal((await check("runuser", ["-u", "redis", "--", "sh", "-c", `cat ${local.files.adminPass} 2>&1 || true`])).includes("Permission denied"), true);
    });
});
