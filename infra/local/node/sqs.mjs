// SQS emulator for the local runtime: fauxqs, listening on 127.0.0.1 only.
// fauxqs's own startFauxqs binds 0.0.0.0, so this builds its app and listens itself.
// Its queue store would also build queue URLs on the host "sqs.<region>.localhost",
// which does not resolve everywhere; with the store's host cleared, URLs are built from
// the request's Host header instead: http://127.0.0.1:<port>/000000000000/<name>.
//
//   node sqs.mjs [--port N] [--exit-on-stdin-close]
//
// Port 0 (the default) picks a free port. Once listening it prints one JSON line,
// {"service":"sqs","port":N}, on stdout: the parent reads the port from it. With
// --exit-on-stdin-close it exits when its parent goes away and stdin closes.
import { buildApp } from "fauxqs";

// The stores are not exported by name; they are files of the exact version the lock
// file pins, found next to the package's entry point.
const dist = import.meta.resolve("fauxqs");
const { SqsStore } = await import(new URL("./sqs/sqsStore.js", dist));
const { SnsStore } = await import(new URL("./sns/snsStore.js", dist));
const { S3Store } = await import(new URL("./s3/s3Store.js", dist));

const args = process.argv.slice(2);
const portArg = args.indexOf("--port");
const port = portArg >= 0 ? Number(args[portArg + 1]) : 0;

const sqsStore = new SqsStore();
sqsStore.host = "";
const app = buildApp({
  logger: false,
  defaultRegion: "us-east-1",
  stores: { sqsStore, snsStore: new SnsStore(), s3Store: new S3Store() },
});
let address;
try {
  address = await app.listen({ port, host: "127.0.0.1" });
} catch (err) {
  console.error(`sqs: cannot listen on 127.0.0.1:${port}: ${err.message}`);
  process.exit(1);
}
const actual = Number(new URL(address).port);
process.stdout.write(JSON.stringify({ service: "sqs", port: actual }) + "\n");

const stop = async () => {
  await app.close().catch(() => {});
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
if (args.includes("--exit-on-stdin-close")) {
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  process.stdin.resume();
}
