import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/runtime/free-port.js';
import { processCpuSeconds } from './cpu.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY_TIMEOUT_MS = 120_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface WorkerProcess {
  /** Resident now and the high-water mark since the process began, in MB. */
  memory(): { rssMb: number; peakMb: number };
  pid: number;
  cpuSeconds(): number;
  /** How it ended, while it should still run. */
  exit(): string | null;
  /** The SDK core's Prometheus metrics: its workflow cache, task slots and task latencies. */
  coreMetrics(): Promise<string>;
  /** The worker's own /metrics: matterflow's and Node's (V8 heap, event loop). */
  appMetrics(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * `node --import tsx worker.ts`, as the image runs it, in a process of its own: RSS and CPU are the
 * worker's alone, and it has a core apart from the bench's. `script`, from the repository root, runs
 * another worker the same way (a bench's floor), which must serve /healthz on WORKER_METRICS_PORT and
 * core metrics on TEMPORAL_METRICS_ADDRESS as worker.ts does. `nodeFlags` go before `--import`, as a
 * deployment's command gives them (docker-compose.yml's worker). Resolves once /healthz answers.
 */
export async function startWorkerProcess(
  env: Record<string, string>,
  script = 'worker.ts',
  nodeFlags: string[] = [],
): Promise<WorkerProcess> {
  const metricsPort = await freePort();
  const coreAddress = `127.0.0.1:${await freePort()}`;
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', script], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...env,
      // Where this module reaches it, whatever HOST the bench was started with.
      HOST: '127.0.0.1',
      WORKER_METRICS_PORT: String(metricsPort),
      TEMPORAL_METRICS_ADDRESS: coreAddress,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const exit = () =>
    child.exitCode === null && child.signalCode === null ? null : `${child.exitCode ?? child.signalCode}`;
  const proc = (file: string) => readFileSync(`/proc/${child.pid}/${file}`, 'utf8');
  const stop = async () => {
    if (exit()) return;
    child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exit()) throw new Error(`${script} exited (${exit()}) before it was ready`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${script} not healthy within ${READY_TIMEOUT_MS / 1000} s`);
    }
    const ok = await fetch(`http://127.0.0.1:${metricsPort}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await sleep(500);
  }
  return {
    memory() {
      const status = proc('status');
      const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
      return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
    },
    pid: child.pid!,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    exit,
    async coreMetrics() {
      return (await fetch(`http://${coreAddress}/metrics`)).text();
    },
    async appMetrics() {
      return (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    },
    stop,
  };
}
