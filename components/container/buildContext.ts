import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** Where build contexts are written, relative to the program's directory (add it to .gitignore). */
export const BUILD_CONTEXT_DIR = ".redis-tls/docker";

/**
 * A build context holding only `dockerfile`, for docker.Image: the provider reads a context from
 * disk (at preview too) and hashes it. The directory is named by the content and given relative to
 * the program's directory, so every machine running the same program passes the same inputs and a
 * second `pulumi up` changes nothing (the provider adds the machine's platform, so machines of
 * another architecture build again).
 */
export function dockerfileContext(dockerfile: string): { context: string; dockerfile: string } {
    const rel = `${BUILD_CONTEXT_DIR}/${createHash("sha256").update(dockerfile).digest("hex").slice(0, 16)}`;
    const dir = path.resolve(rel);
    const file = path.join(dir, "Dockerfile");
    fs.mkdirSync(dir, { recursive: true });
    // The whole directory is hashed into the image's inputs: nothing but the Dockerfile may be in it.
    for (const stray of fs.readdirSync(dir).filter((f) => f !== "Dockerfile")) fs.rmSync(path.join(dir, stray), { recursive: true, force: true });
    const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
    if (current !== dockerfile || (fs.statSync(file).mode & 0o777) !== 0o644) {
        // Written beside the context, not in it, then renamed in.
        const tmp = `${dir}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, dockerfile);
        // The provider's digest counts file modes; the umask must not make two machines differ.
        fs.chmodSync(tmp, 0o644);
        fs.renameSync(tmp, file);
    }
    return { context: rel, dockerfile: `${rel}/Dockerfile` };
}
