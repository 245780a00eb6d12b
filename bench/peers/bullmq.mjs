#!/usr/bin/env node
// BullMQ (Redis) under the peer benchmark driver (common.mjs).
//
//   node bullmq.mjs --url redis://127.0.0.1:PORT --server-pid REDIS_PID
//        [--jobs N] [--concurrency C] [--batch B] [--rate R] [--seconds S]
//        [--mode both|throughput|latency] [--warmup N] [--durable TEXT]
//
// Producer: Queue.addBulk() for the bulk path (one MULTI of add-job scripts per batch),
// Queue.add() for single jobs. Worker: BullMQ's Worker with concurrency C, in a child
// process, over ioredis; it counts a job on the worker's "completed" event, which BullMQ
// emits after the job was moved to completed in Redis. Jobs are added with
// removeOnComplete: true, so a completed job is deleted (as graphile-worker does). The
// queue is named per run and obliterated at the end.

import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { Queue, Worker } from "bullmq";
import { DEFAULTS, parseArgs, producerMain, workerMain } from "./common.mjs";

const script = fileURLToPath(import.meta.url);
const argv = process.argv.slice(2);
const args = parseArgs(argv, {
  ...DEFAULTS,
  durable: "redis appendonly=yes appendfsync=everysec",
  queue: "",
});
if (!args.url) throw new Error("--url redis://... is required");
const version = createRequire(import.meta.url)("bullmq/package.json").version;
const url = new URL(args.url);
// BullMQ's workers need maxRetriesPerRequest: null on their connections.
const connection = {
  host: url.hostname,
  port: Number(url.port || 6379),
  maxRetriesPerRequest: null,
};
const jobOpts = { removeOnComplete: true, removeOnFail: 1000 };

if (args.role === "worker") {
  await workerMain(args, async ({ concurrency, onStart, onComplete }) => {
    const worker = new Worker(
      args.queue,
      async (job) => {
        onStart(job.data);
      },
      { connection, concurrency },
    );
    worker.on("completed", () => onComplete());
    worker.on("error", (err) => console.error(`bullmq worker: ${err.message}`));
    await worker.waitUntilReady();
    return { close: () => worker.close() };
  });
} else {
  const queueName = `bench-${process.pid}-${Date.now()}`;
  const fullArgv = [...argv, "--queue", queueName];
  args.queue = queueName;
  let queue;
  await producerMain(script, fullArgv, args, {
    name: "bullmq",
    version,
    durable: args.durable,
    open: async () => {
      queue = new Queue(queueName, { connection });
      await queue.waitUntilReady();
    },
    addBulk: (payloads) => queue.addBulk(payloads.map((data) => ({ name: "noop", data, opts: jobOpts }))),
    addOne: (payload) => queue.add("noop", payload, jobOpts),
    close: async () => {
      if (!queue) return;
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    },
  });
}
