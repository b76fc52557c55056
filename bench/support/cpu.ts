import { readFileSync } from 'node:fs';

/** USER_HZ, which /proc counts CPU time in; 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/** CPU seconds (user + system) a live process has spent, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** CPU seconds every core has spent busy since boot (all but idle and iowait), from /proc/stat. */
export function machineBusySeconds(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = ticks.map(Number) as number[];
  return (user! + nice! + system! + irq! + softirq! + steal!) / CLOCK_TICKS;
}

export interface CpuSplit {
  /** Seconds each named process spent. */
  each: Record<string, number>;
  machine: number;
  rest: number;
}

/**
 * Where the CPU went during a measurement: each named process, the whole machine, and the rest
 * (Postgres, the kernel, anything else running). The machine's total against its cores shows whether
 * the run was bound by CPU; per operation, it is what one operation costs end to end.
 */
export function cpuMeter(pids: Record<string, number>): { start(): () => CpuSplit } {
  const read = () => ({
    machine: machineBusySeconds(),
    each: Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpuSeconds(pid)])),
  });
  return {
    start() {
      const before = read();
      return () => {
        const after = read();
        const each = Object.fromEntries(
          Object.keys(pids).map((name) => [name, after.each[name]! - before.each[name]!]),
        );
        const machine = after.machine - before.machine;
        const named = Object.values(each).reduce((a, b) => a + b, 0);
        return { each, machine, rest: Math.max(0, machine - named) };
      };
    },
  };
}
