#!/usr/bin/env node
// graphile-worker (PostgreSQL) under the peer benchmark driver (common.mjs).
//
//   node graphile.mjs --url postgresql://USER@127.0.0.1:PORT/DB --server-pid POSTMASTER_PID
//        [--jobs N] [--concurrency C] [--batch B] [--rate R] [--seconds S]
//        [--mode both|throughput|latency] [--warmup N] [--durable TEXT]
//
// Producer: makeWorkerUtils().addJobs() for the bulk path (one add_jobs() call, one
// transaction per batch), addJob() for single jobs. Worker: graphile-worker's run() with
// concurrency C and a task list holding the no-op task, in a child process; it counts a
// job when graphile-worker emits job:complete, and the producer then waits until the
// jobs table is empty, so the last completion is the one PostgreSQL has committed.
// Completed jobs are deleted by graphile-worker itself. Settings are the library's
// defaults (LISTEN/NOTIFY wake-ups, no local queue, no completion batching).

import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { run, makeWorkerUtils, Logger } from "graphile-worker";
import { DEFAULTS, parseArgs, producerMain, workerMain } from "./common.mjs";

const script = fileURLToPath(import.meta.url);
const argv = process.argv.slice(2);
const args = parseArgs(argv, {
  ...DEFAULTS,
  durable: "postgresql fsync=on synchronous_commit=on",
});
if (!args.url) throw new Error("--url postgresql://... is required");
const version = createRequire(import.meta.url)("graphile-worker/package.json").version;

// Errors only: a log line per job would be the benchmark's main cost.
const quiet = new Logger(() => (level, message) => {
  if (level === "error") console.error(`graphile-worker: ${message}`);
});

if (args.role === "worker") {
  await workerMain(args, async ({ concurrency, onStart, onComplete }) => {
    const runner = await run({
      connectionString: args.url,
      concurrency,
      maxPoolSize: Math.max(10, concurrency + 2),
      noHandleSignals: true,
      logger: quiet,
      taskList: {
        noop: async (payload) => {
          onStart(payload);
        },
      },
    });
    runner.events.on("job:complete", ({ error }) => {
      if (!error) onComplete();
    });
    return { close: () => runner.stop() };
  });
} else {
  let utils;
  await producerMain(script, argv, args, {
    name: "graphile-worker",
    version,
    durable: args.durable,
    workerEnv: { NO_LOG_SUCCESS: "1" },
    open: async () => {
      utils = await makeWorkerUtils({ connectionString: args.url, logger: quiet });
    },
    addBulk: (payloads) => utils.addJobs(payloads.map((payload) => ({ identifier: "noop", payload }))),
    addOne: (payload) => utils.addJob("noop", payload),
    pending: () =>
      utils.withPgClient(async (client) => {
        const r = await client.query("select count(*)::int as n from graphile_worker._private_jobs");
        return r.rows[0].n;
      }),
    close: async () => {
      if (utils) await utils.release();
    },
  });
}
