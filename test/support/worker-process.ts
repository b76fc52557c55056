import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eventually } from './stack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `worker.ts` in a process of its own, as deployed, so a test can SIGKILL it like a crashed pod. */
export interface WorkerProcess {
  child: ChildProcess;
  /** The tail of its output, and the last of its warnings and errors, for failure messages. */
  output(): string;
  /** Resolves once it logged that it polls its task queue. */
  running(timeoutMs?: number): Promise<void>;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
}

export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker.ts'], {
    cwd: ROOT,
    // `info` for the "worker running" line; the tail kept is bounded.
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  let problems = '';
  let started = false;
  const keep = (chunk: Buffer) => {
    const text = chunk.toString();
    if (!started && text.includes('"msg":"worker running"')) started = true;
    tail = (tail + text).slice(-4000);
    for (const line of text.split('\n')) {
      if (line.trim() && !/^\{"level":(10|20|30),/.test(line))
        problems = `${problems + line.slice(0, 1000)}\n`.slice(-8000);
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => `${tail}\n--- warnings and errors ---\n${problems}`,
    running: async (timeoutMs = 60_000) => {
      await eventually(
        async () => {
          if (child.exitCode !== null) throw new Error(`worker exited (${child.exitCode}): ${tail}`);
          return started;
        },
        'the worker process to run',
        timeoutMs,
      );
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
