#!/usr/bin/env node
// Reads the JSON lines of the peer benchmark (one per measurement) and prints the
// markdown table: for each peer, the best round of each mode (throughput: highest
// jobs/s; latency: lowest p99), with that round's CPU per job beside it.
//
//   node table.mjs RESULTS.jsonl                   prints the table
//   node table.mjs --check RESULTS.jsonl PEER...   also fails unless every line has the
//                                                  shape and each PEER has both modes

import { readFileSync } from "node:fs";

const argv = process.argv.slice(2);
const check = argv[0] === "--check";
if (check) argv.shift();
const [file, ...wantPeers] = argv;
if (!file) {
  console.error("usage: table.mjs [--check] RESULTS.jsonl [PEER...]");
  process.exit(2);
}

const problems = [];
const isNum = (v) => typeof v === "number" && Number.isFinite(v);
const rows = [];
for (const [i, text] of readFileSync(file, "utf8").split("\n").entries()) {
  if (!text.trim()) continue;
  let r;
  try {
    r = JSON.parse(text);
  } catch {
    problems.push(`line ${i + 1}: not JSON: ${text.slice(0, 80)}`);
    continue;
  }
  const where = `line ${i + 1} (${r.peer}/${r.mode})`;
  if (typeof r.peer !== "string" || !r.peer) problems.push(`${where}: peer`);
  if (r.mode !== "throughput" && r.mode !== "latency") problems.push(`${where}: mode`);
  if (!Number.isInteger(r.jobs) || r.jobs <= 0) problems.push(`${where}: jobs`);
  if (!Number.isInteger(r.concurrency) || r.concurrency <= 0) problems.push(`${where}: concurrency`);
  if (!isNum(r.jobs_per_s) || r.jobs_per_s <= 0) problems.push(`${where}: jobs_per_s`);
  if (r.mode === "latency") {
    if (!isNum(r.p50_us) || !isNum(r.p99_us) || r.p50_us > r.p99_us) problems.push(`${where}: p50_us/p99_us`);
  } else if (!(r.p50_us === null || isNum(r.p50_us)) || !(r.p99_us === null || isNum(r.p99_us))) {
    problems.push(`${where}: p50_us/p99_us`);
  }
  const cpu = r.cpu_us_per_job;
  if (!cpu || typeof cpu !== "object" || !["producer", "worker", "server"].every((k) => cpu[k] === null || (isNum(cpu[k]) && cpu[k] >= 0))) {
    problems.push(`${where}: cpu_us_per_job`);
  }
  if (typeof r.durable !== "string" || !r.durable) problems.push(`${where}: durable`);
  rows.push(r);
}
for (const peer of wantPeers) {
  for (const mode of ["throughput", "latency"]) {
    if (!rows.some((r) => r.peer === peer && r.mode === mode)) problems.push(`no ${mode} line for ${peer}`);
  }
}

const fmt = (v, digits = 0) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
const cpuCell = (c) => `${fmt(c.producer)} / ${fmt(c.worker)} / ${fmt(c.server)}`;
// A side that completes less than 95% of the offered rate is saturated: its latency is
// the backlog's, and the cell says so.
const rateCell = (l) => {
  const offered = l.rate_per_s ?? l.jobs_per_s;
  return l.jobs_per_s < 0.95 * offered ? `${fmt(offered)} (kept up with ${fmt(l.jobs_per_s)}: saturated)` : fmt(offered);
};
const peers = [...new Set(rows.map((r) => r.peer))];
const best = (peer, mode, better) =>
  rows.filter((r) => r.peer === peer && r.mode === mode).reduce((a, b) => (a === null || better(b, a) ? b : a), null);

const out = [];
out.push("| peer | jobs | conc. | jobs/s (best) | CPU µs/job prod / worker / server | rate/s | p50 µs | p99 µs (best) | CPU µs/job prod / worker / server | durable |");
out.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
for (const peer of peers) {
  const t = best(peer, "throughput", (b, a) => b.jobs_per_s > a.jobs_per_s);
  const l = best(peer, "latency", (b, a) => b.p99_us < a.p99_us);
  const any = t || l;
  out.push(
    `| ${peer}${any.version ? ` ${any.version}` : ""} | ${t ? t.jobs : "–"} | ${any.concurrency} | ${t ? fmt(t.jobs_per_s) : "–"} | ${t ? cpuCell(t.cpu_us_per_job) : "–"} | ${l ? rateCell(l) : "–"} | ${l ? fmt(l.p50_us) : "–"} | ${l ? fmt(l.p99_us) : "–"} | ${l ? cpuCell(l.cpu_us_per_job) : "–"} | ${any.durable} |`,
  );
}
console.log(out.join("\n"));
const roundsPerPeer = peers.map((p) => `${p}: ${rows.filter((r) => r.peer === p && r.mode === "throughput").length}`).join(", ");
console.log(`\nBest of rounds (${roundsPerPeer}); the CPU columns are the best round's.`);

if (check) {
  if (problems.length) {
    for (const p of problems) console.error(`table.mjs: ${p}`);
    console.error(`table.mjs: ${problems.length} problem(s) in ${file}`);
    process.exit(1);
  }
  console.error(`table.mjs: ${rows.length} lines checked, all well-formed`);
}
