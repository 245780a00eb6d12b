// The driver shared by the peer benchmarks (graphile.mjs, bullmq.mjs).
//
// One invocation is one producer process (this one) and one worker process (a child,
// the same script with --role worker) talking to one server (PostgreSQL or Redis, whose
// PID is given). It runs, after a small unreported warm-up:
//   throughput: enqueue --jobs N no-op jobs in batches of --batch through the peer's bulk
//               call; time from the first enqueue to the last completion.
//   latency:    open loop, one job per call at --rate R jobs/s for --seconds S; each job
//               carries its intended enqueue time (CLOCK_MONOTONIC, shared by all
//               processes on the host); the worker records start time minus that.
// and prints one JSON line per measurement.
//
// CPU: the producer's is this process's getrusage (process.cpuUsage); the worker's is
// the worker process's own getrusage, reported over IPC; the server's is
// utime+stime+cutime+cstime of the server PID plus utime+stime of its live children from
// /proc (PostgreSQL is one postmaster and a process per connection; cutime keeps the
// time of children that exited). All three are deltas over the measurement.

import { fork, execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

const traceStart = Date.now();
function trace(what) {
  if (process.env.PEERS_TRACE) console.error(`[${Date.now() - traceStart} ms] ${what}`);
}

export function nowUs() {
  return Number(process.hrtime.bigint() / 1000n);
}

export function parseArgs(argv, defaults) {
  const args = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2).replace(/-/g, "_");
    if (!(key in defaults)) throw new Error(`unknown option ${a}`);
    const value = argv[++i];
    if (value === undefined) throw new Error(`${a} needs a value`);
    args[key] = typeof defaults[key] === "number" ? Number(value) : value;
    if (typeof defaults[key] === "number" && !Number.isFinite(args[key])) {
      throw new Error(`${a} needs a number, not ${value}`);
    }
  }
  return args;
}

let clkTck = 0;
function ticksPerSecond() {
  if (!clkTck) {
    try {
      clkTck = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

// Fields of /proc/PID/stat after the ")" that closes the command name (it may hold spaces).
function statFields(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

// CPU time in µs of a process, its live children and its reaped children.
export function processTreeCpuUs(rootPid) {
  if (!rootPid) return null;
  const hz = ticksPerSecond();
  // After ")": [0]=state [1]=ppid ... [11]=utime [12]=stime [13]=cutime [14]=cstime.
  const root = statFields(rootPid);
  let ticks = Number(root[11]) + Number(root[12]) + Number(root[13]) + Number(root[14]);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === rootPid) continue;
    try {
      const f = statFields(entry);
      if (Number(f[1]) === rootPid) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // The process exited while we looked.
    }
  }
  return (ticks * 1e6) / hz;
}

function cpuUs(usage) {
  return usage.user + usage.system;
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx];
}

// ---------------------------------------------------------------------------------
// Worker side. `startPeerWorker({concurrency, onStart, onComplete})` starts the peer's
// own worker and returns {close()}; onStart(payload) is called as a job starts and
// onComplete() once the peer has recorded the job's completion.
export async function workerMain(args, startPeerWorker) {
  let expected = Infinity;
  let completed = 0;
  let last = 0;
  let latencies = [];
  const onStart = (payload) => {
    if (payload && typeof payload.ts === "number") latencies.push(nowUs() - payload.ts);
  };
  const onComplete = () => {
    completed++;
    last = nowUs();
    if (completed === expected) {
      process.send({ t: "done", last, latencies, cpu: cpuUs(process.cpuUsage()) });
      expected = Infinity;
    }
  };
  const peer = await startPeerWorker({ concurrency: args.concurrency, onStart, onComplete });
  process.on("message", async (msg) => {
    if (msg.t === "arm") {
      expected = msg.n;
      completed = 0;
      latencies = [];
      process.send({ t: "armed", cpu: cpuUs(process.cpuUsage()) });
    } else if (msg.t === "stop") {
      await peer.close();
      // Pools and timers of the peer library may outlive close(): exit once told.
      process.send({ t: "stopped" }, () => process.exit(0));
    }
  });
  process.send({ t: "ready" });
}

// ---------------------------------------------------------------------------------
// Producer side.
class WorkerChild {
  constructor(script, argv, env) {
    this.child = fork(script, [...argv, "--role", "worker"], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.waiters = [];
    this.child.on("message", (msg) => {
      const i = this.waiters.findIndex((w) => w.type === msg.t);
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(msg);
    });
    this.exited = new Promise((resolve) => this.child.on("exit", resolve));
    this.exited.then((code) => {
      for (const w of this.waiters) w.reject(new Error(`worker exited (${code}) waiting for ${w.type}`));
      this.waiters = [];
    });
  }
  next(type, timeoutMs = 600000) {
    return new Promise((resolve, reject) => {
      const w = { type, resolve, reject };
      this.waiters.push(w);
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for the worker's ${type}`));
      }, timeoutMs);
      timer.unref();
    });
  }
  async request(msg, reply) {
    const p = this.next(reply);
    this.child.send(msg);
    return p;
  }
}

// peer: {
//   name, durable, version,
//   workerEnv: extra environment of the worker process,
//   open(): producer connection, resolves when ready,
//   addBulk(payloads): one bulk enqueue,
//   addOne(payload): one single enqueue,
//   pending(): optional, number of jobs the server still holds (checked after the
//              worker reports its last completion, for peers that record the
//              completion after the handler's event),
//   close()
// }
export async function producerMain(script, argv, args, peer) {
  const workerArgv = argv.filter((_, i, a) => a[i] !== "--role" && a[i - 1] !== "--role");
  const worker = new WorkerChild(script, workerArgv, peer.workerEnv || {});
  await worker.next("ready", 120000);
  trace("worker ready");
  await peer.open();
  trace("producer open");

  const measure = async (mode, n, enqueue) => {
    const armed = await worker.request({ t: "arm", n }, "armed");
    const done = worker.next("done");
    const producer0 = cpuUs(process.cpuUsage());
    const server0 = processTreeCpuUs(args.server_pid);
    const t0 = nowUs();
    await enqueue(t0);
    const result = await done;
    let end = result.last;
    if (peer.pending) {
      while ((await peer.pending()) > 0) await sleep(1);
      end = Math.max(end, nowUs());
    }
    const producer1 = cpuUs(process.cpuUsage());
    const server1 = processTreeCpuUs(args.server_pid);
    const lat = result.latencies.sort((a, b) => a - b);
    const perJob = (v) => (v === null ? null : Math.round((v / n) * 10) / 10);
    return {
      peer: peer.name,
      mode,
      jobs: n,
      concurrency: args.concurrency,
      jobs_per_s: Math.round((n / ((end - t0) / 1e6)) * 10) / 10,
      p50_us: mode === "latency" ? percentile(lat, 0.5) : null,
      p99_us: mode === "latency" ? percentile(lat, 0.99) : null,
      cpu_us_per_job: {
        producer: perJob(producer1 - producer0),
        worker: perJob(result.cpu - armed.cpu),
        server: server0 === null ? null : perJob(server1 - server0),
      },
      durable: peer.durable,
      ...(mode === "latency" ? { rate_per_s: args.rate, seconds: args.seconds } : { batch: args.batch }),
      version: peer.version,
    };
  };

  const throughput = (n) =>
    measure("throughput", n, async () => {
      for (let i = 0; i < n; i += args.batch) {
        const count = Math.min(args.batch, n - i);
        await peer.addBulk(Array.from({ length: count }, () => ({})));
      }
    });

  // Open loop: job i is due at t0 + i/R; every due job is sent without waiting for the
  // earlier ones, so a slow server does not slow the offered rate down. The job carries
  // its due time, so time lost by a late producer counts as latency.
  const latency = (n) =>
    measure("latency", n, async (t0) => {
      const inflight = [];
      const gapUs = 1e6 / args.rate;
      let i = 0;
      while (i < n) {
        const now = nowUs();
        while (i < n && t0 + i * gapUs <= now) {
          inflight.push(peer.addOne({ ts: Math.round(t0 + i * gapUs) }));
          i++;
        }
        if (i < n) {
          const waitUs = t0 + i * gapUs - nowUs();
          if (waitUs >= 1000) await sleep(Math.floor(waitUs / 1000));
          else await new Promise((r) => setImmediate(r));
        }
      }
      await Promise.all(inflight);
    });

  const lines = [];
  try {
    // Warm-up: connections, prepared statements, the JIT. Not reported.
    if (args.warmup > 0) await throughput(args.warmup);
    trace("warmed up");
    if (args.mode === "throughput" || args.mode === "both") lines.push(await throughput(args.jobs));
    if (args.mode === "latency" || args.mode === "both") {
      lines.push(await latency(Math.max(1, Math.round(args.rate * args.seconds))));
    }
    for (const line of lines) console.log(JSON.stringify(line));
  } finally {
    trace("measured");
    await worker.request({ t: "stop" }, "stopped").catch(() => {});
    trace("worker stopped");
    await peer.close().catch(() => {});
    trace("producer closed");
    await Promise.race([worker.exited, sleep(5000, undefined, { ref: false })]);
    if (worker.child.exitCode === null) worker.child.kill("SIGKILL");
  }
}

export const DEFAULTS = {
  role: "producer",
  url: "",
  server_pid: 0,
  mode: "both",
  jobs: 10000,
  concurrency: 16,
  batch: 500,
  rate: 500,
  seconds: 5,
  warmup: 200,
  durable: "",
};
