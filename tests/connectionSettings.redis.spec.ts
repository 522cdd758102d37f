import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import Redis, { RedisOptions } from "ioredis";
import * as yaml from "js-yaml";
import { createClient } from "redis";
import { RedisConnection, redissUrl, renderEscEnvironment, renderPkcs12, renderServiceBindingSecret } from "../components";
import { LocalRedis } from "./support/localRedis";
import { check, run } from "./support/run";

// The settings apps consume as they are, rendered from one connection value, each opened by a real
// client against real redis-server (TLS only, client certificates required, default user off),
// each verifying the server's name: a wrong name must fail.
describe("connection settings apps consume as they are, against real redis-server", function () {
    this.timeout(120_000);
    let local: LocalRedis;
    let conn: RedisConnection;
    // A password URL-encoding matters for.
    const password = "p@ss:w/rd%20+1";

    before(async () => {
        local = await LocalRedis.start();
        assert.equal((await local.cli(["ACL", "SETUSER", "app", "reset", "on", `>${password}`, "~app:*", "resetchannels", "+@all"])).stdout.trim(), "OK");
        conn = {
            url: redissUrl("127.0.0.1", local.port, "app", password),
            host: "127.0.0.1",
            port: local.port,
            serverName: local.name,
            caPem: local.ca.rootCert,
            username: "app",
            password,
            certPem: local.client.cert,
            keyPem: local.client.key,
        };
    });
    after(() => local?.stop());

    let lastError = "";
    const ioredis = (o: RedisOptions) => {
        const r = new Redis({ enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true, ...o });
        r.on("error", (e: Error) => (lastError = e.message));
        return r;
    };
    const reply = (p: Promise<unknown>) => p.then(String, (e: Error) => e.message);

    it("ioredis and node-redis from the connection object: read and write as the application, and a wrong server name fails", async () => {
        const options = (serverName: string) => ({
            host: conn.host, port: conn.port, username: conn.username, password: conn.password,
            tls: { ca: conn.caPem, cert: conn.certPem, key: conn.keyPem, servername: serverName },
        });
        const io = ioredis(options(conn.serverName));
        assert.equal(await reply(io.set("app:io", "1")), "OK");
        assert.equal(await reply(io.call("ACL", "WHOAMI")), "app");
        io.disconnect();
        const wrong = ioredis(options("other.test"));
        assert.equal(await reply(wrong.ping()), "Connection is closed.");
        assert.match(lastError, /Hostname\/IP does not match certificate's altnames/);
        wrong.disconnect();

        for (const serverName of [conn.serverName, "other.test"]) {
            const nr = createClient({ url: conn.url, socket: { tls: true, ca: conn.caPem, cert: conn.certPem, key: conn.keyPem, servername: serverName, reconnectStrategy: false } });
            nr.on("error", () => undefined);
            const got = await nr.connect().then(() => nr.sendCommand(["ACL", "WHOAMI"]), (e: Error) => e.message);
            if (serverName === conn.serverName) {
                assert.equal(got, "app", "node-redis logs in from the URL's user and password");
                await nr.quit();
            } else {
                assert.match(String(got), /Hostname\/IP does not match|altnames/);
            }
        }
    });

    it("a Pulumi ESC environment: REDIS_URL plus CA, certificate and key files, opened by redis-py, checking the name in the URL", async () => {
        const doc = yaml.load(renderEscEnvironment(conn)) as any;
        const values = doc.values;
        assert.deepEqual(values.environmentVariables.REDIS_URL, { "fn::secret": conn.url });
        assert.deepEqual(values.environmentVariables.REDIS_PASSWORD, { "fn::secret": password });
        assert.deepEqual(values.files.REDIS_KEY_FILE, { "fn::secret": conn.keyPem });
        assert.equal(values.files.REDIS_CA_FILE, conn.caPem);
        // What `esc run` does: each file written, its variable set to the path.
        const env: Record<string, string> = {};
        const unsecret = (v: any) => (typeof v === "object" ? v["fn::secret"] : String(v));
        for (const [k, v] of Object.entries<any>(values.environmentVariables)) env[k] = unsecret(v);
        for (const [k, v] of Object.entries<any>(values.files)) {
            const file = path.join(local.dir, k);
            fs.writeFileSync(file, unsecret(v), { mode: 0o600 });
            env[k] = file;
        }
        const py = `
import os, redis
r = redis.Redis.from_url(os.environ["REDIS_URL"], ssl_ca_certs=os.environ["REDIS_CA_FILE"],
    ssl_certfile=os.environ["REDIS_CERT_FILE"], ssl_keyfile=os.environ["REDIS_KEY_FILE"], ssl_cert_reqs="required", ssl_check_hostname=True)
r.set("app:py", "2")
print(r.execute_command("ACL", "WHOAMI").decode(), r.get("app:py").decode())
`;
        const ok = await run("/usr/bin/python3", ["-c", py], { env: { ...process.env, ...env } });
        assert.equal(ok.stdout.trim(), "app 2", ok.stderr);
        // The certificate names 127.0.0.1 and redis-1.test, not localhost: redis-py must refuse it
        // (ssl_check_hostname is off by default before redis-py 6; the README's snippet turns it on).
        const wrong = await run("/usr/bin/python3", ["-c", py], { env: { ...process.env, ...env, REDIS_URL: env.REDIS_URL.replace("127.0.0.1", "localhost") } });
        assert.notEqual(wrong.code, 0);
        assert.match(wrong.stderr, /certificate verify failed|doesn't match|match/i);
    });

    it("a Service Binding Secret: the well-known entries, mounted as files, connect a client that reads only the binding", async () => {
        const secret = renderServiceBindingSecret(conn, { name: "orders-redis", namespace: "shop" });
        assert.equal(secret.type, "servicebinding.io/redis");
        assert.deepEqual(secret.metadata, { name: "orders-redis", namespace: "shop", labels: { "app.kubernetes.io/managed-by": "redis-tls" } });
        assert.deepEqual(Object.keys(secret.stringData).sort(), ["ca.crt", "host", "password", "port", "provider", "server-name", "ssl", "tls.crt", "tls.key", "type", "uri", "username"]);
        assert.equal(secret.stringData.type, "redis");
        assert.equal(secret.stringData.ssl, "true");
        // As the kubelet mounts it: $SERVICE_BINDING_ROOT/<binding>/<entry>.
        const root = path.join(local.dir, "bindings", secret.metadata.name);
        fs.mkdirSync(root, { recursive: true });
        for (const [k, v] of Object.entries(secret.stringData)) fs.writeFileSync(path.join(root, k), v);
        const read = (k: string) => fs.readFileSync(path.join(root, k), "utf8");
        const io = ioredis({
            host: read("host"), port: Number(read("port")), username: read("username"), password: read("password"),
            tls: read("ssl") === "true" ? { ca: read("ca.crt"), cert: read("tls.crt"), key: read("tls.key"), servername: read("server-name") } : undefined,
        });
        assert.equal(await reply(io.call("ACL", "WHOAMI")), "app");
        io.disconnect();
        assert.throws(() => renderServiceBindingSecret({ ...conn, keyPem: undefined, keyPath: "/etc/redis-tls-client/app/live/redis.key" }, { name: "x" }), /a key made on a host never leaves it/);
        assert.throws(() => renderServiceBindingSecret(conn, { name: "Orders_Redis" }), /\[name\] "Orders_Redis" is not a Kubernetes object name/);
    });

    it("a PKCS#12 keystore that Java loads (keytool, and a JSSE client verifying the server) and OpenSSL reads back", async () => {
        const storePass = "changeit-0";
        const p12 = path.join(local.dir, "app.p12");
        fs.writeFileSync(p12, renderPkcs12(conn, storePass), { mode: 0o600 });
        const env = { ...process.env, STOREPASS: storePass };
        const list = await check("keytool", ["-list", "-keystore", p12, "-storetype", "PKCS12", "-storepass:env", "STOREPASS"], { env });
        assert.match(list, /redis-client, .*PrivateKeyEntry/);
        assert.match(list, /redis-ca, .*trustedCertEntry/);
        // OpenSSL: the key and the leaf match what went in.
        const keyBack = await run("openssl", ["pkcs12", "-in", p12, "-nocerts", "-nodes", "-passin", "env:STOREPASS"], { env });
        assert.equal(keyBack.code, 0, keyBack.stderr);
        const pub = async (args: string[], input: string) => (await run("openssl", args, { stdin: input })).stdout;
        assert.equal(await pub(["pkey", "-pubout"], keyBack.stdout), await pub(["pkey", "-pubout"], conn.keyPem!));
        // Java's own TLS stack: keystore and truststore from the bundle, the server's name checked.
        const java = path.join(local.dir, "Client.java");
        fs.writeFileSync(java, `
import javax.net.ssl.*; import java.io.*; import java.security.KeyStore;
public class Client { public static void main(String[] a) throws Exception {
  char[] pw = System.getenv("STOREPASS").toCharArray();
  KeyStore ks = KeyStore.getInstance("PKCS12"); try (InputStream in = new FileInputStream(a[0])) { ks.load(in, pw); }
  KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX"); kmf.init(ks, pw);
  TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX"); tmf.init(ks);
  SSLContext ctx = SSLContext.getInstance("TLS"); ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
  try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(a[1], Integer.parseInt(a[2]))) {
    SSLParameters p = s.getSSLParameters(); p.setEndpointIdentificationAlgorithm("HTTPS"); s.setSSLParameters(p);
    OutputStream out = s.getOutputStream(); out.write(("AUTH app " + System.getenv("APP_PASS") + "\\r\\nACL WHOAMI\\r\\n").getBytes()); out.flush();
    BufferedReader r = new BufferedReader(new InputStreamReader(s.getInputStream()));
    System.out.println(r.readLine() + " " + r.readLine() + " " + r.readLine());
  } } }
`);
        // APP_PASS goes in raw: the RESP inline command has no quoting, and this password has no space.
        const ok = await run("java", [java, p12, "127.0.0.1", String(conn.port)], { env: { ...env, APP_PASS: password }, timeoutMs: 60_000 });
        assert.equal(ok.stdout.trim(), "+OK $3 app", ok.stderr);
        const wrongName = await run("java", [java, p12, "localhost", String(conn.port)], { env: { ...env, APP_PASS: password }, timeoutMs: 60_000 });
        assert.notEqual(wrongName.code, 0);
        assert.match(wrongName.stderr, /No subject alternative DNS name matching localhost|CertificateException/);
        assert.throws(() => renderPkcs12({ ...conn, keyPem: undefined, keyPath: "/k" }, storePass), /the key is on the host at \/k and never leaves it/);
    });
});
