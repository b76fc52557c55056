import { type ChildProcess, spawn } from 'node:child_process';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { portOpen } from './free-port.js';

export interface DevServerOptions {
  cli: string;
  /** SQLite file for persistence; omitted means in-memory. */
  dbFile?: string;
  /** For the file: `PRAGMA=VALUE` settings, FILE_PRAGMAS unless given. */
  sqlitePragmas?: string[];
  port: number;
  /** null disables the Web UI. */
  uiPort: number | null;
  namespace?: string;
  /** `--dynamic-config-value KEY=VALUE` pairs, e.g. tighter history limits in tests. */
  dynamicConfig?: Record<string, string | number | boolean>;
  log?: (line: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

const TYPE_NAMES: Record<string, string> = {
  KEYWORD: 'Keyword',
  DATETIME: 'Datetime',
  INT: 'Int',
  TEXT: 'Text',
};

export function searchAttributeArgs(): string[] {
  return SEARCH_ATTRIBUTES.flatMap((k) => [
    '--search-attribute',
    `${k.name}=${TYPE_NAMES[k.type] ?? k.type}`,
  ]);
}

/**
 * For the file-backed server: a write-ahead log lets readers (the UI, list queries) run beside the writer,
 * and `synchronous=normal` syncs at checkpoints rather than at every commit. A crash of the machine (not of
 * the process) may lose the last commits; this server is for one machine's development and demos.
 */
export const FILE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];

/**
 * One partition per task queue: on a single node, more only forward tasks and polls between each other. With
 * one, a worker SIGKILLed during a burst had its matters taken up within 9–11.5 s of its restart instead of 11–14 s.
 */
const SINGLE_NODE_CONFIG = {
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
};

/** Starts `temporal server start-dev` on loopback and waits until its frontend accepts connections. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--namespace',
    options.namespace ?? 'default',
    '--log-level',
    'warn',
    ...(options.dbFile
      ? [
          '--db-filename',
          options.dbFile,
          ...(options.sqlitePragmas ?? FILE_PRAGMAS).flatMap((p) => ['--sqlite-pragma', p]),
        ]
      : []),
    ...(options.uiPort === null
      ? ['--headless']
      : ['--ui-port', String(options.uiPort), '--ui-ip', '127.0.0.1']),
    ...searchAttributeArgs(),
    ...Object.entries({ ...SINGLE_NODE_CONFIG, ...options.dynamicConfig }).flatMap(([key, value]) => [
      '--dynamic-config-value',
      `${key}=${JSON.stringify(value)}`,
    ]),
  ];
  const child = spawn(options.cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) options.log?.(line);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const deadline = Date.now() + 60_000;
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  while (!(await portOpen(options.port))) {
    if (exitCode !== undefined) throw new Error(`temporal dev server exited (${exitCode}): ${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`temporal dev server did not listen on ${options.port} within 60 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    address: `127.0.0.1:${options.port}`,
    uiUrl: options.uiPort === null ? null : `http://127.0.0.1:${options.uiPort}`,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
