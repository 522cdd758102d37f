import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

/** A redis-server on loopback, started from a base config that includes a rendered drop-in. */
export class RedisProcess {
    private constructor(
        readonly child: ChildProcess,
        readonly log: () => string,
    ) {}

    get pid(): number {
        return this.child.pid!;
    }

    /** The base config the tests start from: foreground, in `dir`, nothing persisted, then the drop-in. */
    static baseConf(dir: string, dropInPath: string): string {
        return `daemonize no\ndir ${dir}\nsave ""\nappendonly no\nlogfile ""\ninclude ${dropInPath}\n`;
    }

    /** Starts `redis-server` with `dir` as working directory and waits until `readyPath` (a socket) exists. */
    static async start(dir: string, dropInPath: string, readyPath: string): Promise<RedisProcess> {
        const conf = path.join(dir, "redis.conf");
        fs.writeFileSync(conf, RedisProcess.baseConf(dir, dropInPath));
        return RedisProcess.startConf(conf, readyPath);
    }

    /** Starts `redis-server` from `conf` as it is and waits until `readyPath` (a socket) exists. */
    static async startConf(conf: string, readyPath: string): Promise<RedisProcess> {
        const child = spawn("redis-server", [conf], { stdio: ["ignore", "pipe", "pipe"] });
        let log = "";
        child.stdout!.on("data", (d) => (log += d));
        child.stderr!.on("data", (d) => (log += d));
        const deadline = Date.now() + 10_000;
        while (!fs.existsSync(readyPath)) {
            if (child.exitCode !== null || Date.now() > deadline) {
                child.kill("SIGKILL");
                throw new Error(`redis-server did not start:\n${log}`);
            }
            await new Promise((r) => setTimeout(r, 50));
        }
        return new RedisProcess(child, () => log);
    }

    async stop(): Promise<void> {
        if (this.child.exitCode !== null) return;
        const exited = new Promise((r) => this.child.once("exit", r));
        this.child.kill("SIGTERM");
        await exited;
    }
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
        srv.on("error", reject);
    });
}
