// By hand: `npx ts-node --transpile-only tests/hosts/cli.ts start alpha bravo` boots hosts and
// prints how to ssh in, until Ctrl-C; `... cli.ts cleanup` removes what a crashed run left;
// `... cli.ts leftovers` lists what of the fixture exists on this machine.
import { cleanupStale, leftovers, startHosts } from ".";

async function main([cmd, ...names]: string[]): Promise<void> {
  if (cmd === "cleanup") return cleanupStale();
  if (cmd === "leftovers") return void console.log(leftovers().join("\n"));
  if (cmd !== "start" || names.length === 0) throw new Error("usage: cli.ts start NAME... | cleanup | leftovers");
  const fixture = await startHosts(names);
  for (const h of fixture.hosts) {
    console.log(`${h.name}: ssh ${h.sshOptions.join(" ")} root@${h.address}   (gateway ${h.gateway})`);
  }
  console.log("Ctrl-C stops the hosts.");
  await new Promise<void>((resolve) => process.once("SIGINT", resolve));
  await fixture.stop();
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
