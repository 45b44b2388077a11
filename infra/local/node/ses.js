// SES v2 emulator for the local runtime: aws-ses-v2-local, listening on 127.0.0.1 only
// (its default host is "::", every interface).
//
//   node ses.js [--port N] [--exit-on-stdin-close]
//
// Port 0 (the default) picks a free port. Once listening it prints one JSON line,
// {"service":"ses","port":N}, on stdout. The outbox page is served at /, the sent mail
// as JSON at GET /store, readiness at GET /health-check.
"use strict";
const ses = require("aws-ses-v2-local").default;

// GetAccount answers from AWS_SES_ACCOUNT; describe a local account that may send, as a
// verified production account would, so the health check sees SES the way it does in AWS.
process.env.AWS_SES_ACCOUNT ??= JSON.stringify({
  DedicatedIpAutoWarmupEnabled: false,
  Details: {
    AdditionalContactEmailAddresses: [],
    ContactLanguage: "EN",
    MailType: "TRANSACTIONAL",
    ReviewDetails: { CaseId: "local", Status: "GRANTED" },
    UseCaseDescription: "tierflow local emulator",
    WebsiteURL: "http://127.0.0.1",
  },
  EnforcementStatus: "HEALTHY",
  ProductionAccessEnabled: true,
  SendingEnabled: true,
  SendQuota: { Max24HourSend: 50000, MaxSendRate: 14, SentLast24Hours: 0 },
  SuppressionAttributes: { SuppressedReasons: [] },
});

const args = process.argv.slice(2);
const portArg = args.indexOf("--port");
const port = portArg >= 0 ? Number(args[portArg + 1]) : 0;

ses({ host: "127.0.0.1", port }).then(
  (server) => {
    server.on("error", (err) => {
      console.error(`ses: ${err.message}`);
      process.exit(1);
    });
    const stop = () => server.close(() => process.exit(0));
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    if (args.includes("--exit-on-stdin-close")) {
      process.stdin.on("end", stop);
      process.stdin.on("close", stop);
      process.stdin.resume();
    }
    process.stdout.write(JSON.stringify({ service: "ses", port: server.address().port }) + "\n");
  },
  (err) => {
    console.error(`ses: cannot listen on 127.0.0.1:${port}: ${err.message}`);
    process.exit(1);
  },
);
