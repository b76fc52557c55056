import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * B6: the wall time of `npm test` (type check, lint, every test) on this machine, against the 15-minute
 * target, with the slowest test files: where the time goes when it grows.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const REPORT = fileURLToPath(new URL('../test/artifacts/vitest-report.json', import.meta.url));
const TARGET_SECONDS = 15 * 60;

interface VitestReport {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: { name: string; startTime: number; endTime: number }[];
}

const started = performance.now();
const exitCode = await new Promise<number>((resolve, reject) => {
  // The bench's own bootstrap has just run: the test run need not check the packages again.
  const child = spawn('npm', ['test'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, MATTERFLOW_SKIP_NPM_CI: '1' },
  });
  child.once('error', reject);
  child.once('exit', (code) => resolve(code ?? 1));
});
const seconds = (performance.now() - started) / 1000;
const report = JSON.parse(readFileSync(REPORT, 'utf8')) as VitestReport;
const files = report.testResults
  .map((f) => ({ file: relative(ROOT, f.name), seconds: (f.endTime - f.startTime) / 1000 }))
  .sort((a, b) => b.seconds - a.seconds);

const result = {
  benchmark: 'B6 npm test wall time',
  at: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) },
  versions: { node: process.version },
  exitCode,
  seconds,
  targetSeconds: TARGET_SECONDS,
  tests: {
    total: report.numTotalTests,
    passed: report.numPassedTests,
    failed: report.numFailedTests,
    skipped: report.numPendingTests,
    files: files.length,
  },
  slowestFiles: files.slice(0, 10),
};
mkdirSync(RESULTS, { recursive: true });
writeFileSync(`${RESULTS}b6-test-wall-time.json`, `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(
  `${RESULTS}b6-test-wall-time.md`,
  `# B6 npm test wall time (${result.at})

${result.machine.cpus} × ${result.machine.cpuModel}, ${result.machine.memoryGiB} GiB; Node ${process.version}.

| what | value |
| --- | ---: |
| wall time of \`npm test\` | ${(seconds / 60).toFixed(1)} min (${seconds.toFixed(0)} s) |
| target | ≤ ${TARGET_SECONDS / 60} min |
| exit code | ${exitCode} |
| tests passed / failed / skipped | ${report.numPassedTests} / ${report.numFailedTests} / ${report.numPendingTests} |
| test files | ${files.length} |

Files run in parallel, so their times overlap; the slowest:

| file | seconds |
| --- | ---: |
${result.slowestFiles.map((f) => `| ${f.file} | ${f.seconds.toFixed(1)} |`).join('\n')}
`,
);
process.stdout.write(`${readFileSync(`${RESULTS}b6-test-wall-time.md`, 'utf8')}\n`);
process.exit(exitCode);
