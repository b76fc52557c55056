import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_KEYS, type Config, loadConfig } from '../../src/config.js';
import { heapFit } from '../../src/runtime/heap-fit.js';
import { searchAttributeArgs } from '../../src/runtime/temporal-dev-server.js';

// No Docker engine runs the tests: the deployment files are parsed and checked against the code instead.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(`${ROOT}${path}`, 'utf8');

interface Healthcheck {
  test?: string[] | string;
  disable?: boolean;
}
interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: Healthcheck;
  restart?: string;
  ports?: (string | number)[];
  deploy?: { resources?: { limits?: { memory?: string } } };
}

// Compose reads YAML 1.1 merge keys (`<<: *anchor`); the shared app environment relies on them.
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const APP_SERVICES = ['migrate', 'api', 'worker'];

const isOneShot = (s: Service) => s.restart === 'no';
const hasHealthcheck = (s: Service) => s.healthcheck?.test !== undefined && s.healthcheck.disable !== true;

/** Compose interpolation as `docker compose` would do it with every required variable set. */
function interpolate(value: string): string {
  return value.replace(/\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}/g, (match, name: string, op, arg: string) => {
    if (match === '$$') return '$';
    if (op === ':-' || op === '-') return arg;
    // Placeholders long enough for every minimum length in the config schema.
    return /URL/.test(name) ? 'https://matterflow.example.com' : `placeholder-${name}-${'x'.repeat(40)}`;
  });
}

function envOf(service: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(services[service]?.environment ?? {}).map(([k, v]) => [k, interpolate(String(v ?? ''))]),
  );
}

function rawEnvOf(service: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(services[service]?.environment ?? {}).map(([k, v]) => [k, String(v ?? '')]),
  );
}

function accepts(env: Record<string, string>): boolean {
  try {
    loadConfig(env);
    return true;
  } catch {
    return false;
  }
}

function dependsOn(service: string): Record<string, { condition?: string }> {
  const deps = services[service]?.depends_on ?? {};
  // The short list form waits for nothing but container start.
  expect(Array.isArray(deps), `${service}: depends_on must name conditions`).toBe(false);
  return deps as Record<string, { condition?: string }>;
}

function commandText(s: Service): string {
  return Array.isArray(s.command) ? s.command.join(' ') : (s.command ?? '');
}

function hostPort(address: string): { host: string; port: string } {
  const [host = '', port = ''] = address.split(':');
  return { host, port };
}

describe('docker-compose.yml', () => {
  it('when a service runs, then it has a health check, unless it is a one-shot job that is not restarted', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(hasHealthcheck(service) || isOneShot(service), `${name} has no health check`).toBe(true);
    }
    expect(isOneShot(services.migrate!)).toBe(true);
  });

  it('when API and worker are deployed, then they are separate services from the same image', () => {
    const { api, worker } = services;
    expect(api).toBeDefined();
    expect(worker).toBeDefined();
    expect(api!.image).toBeDefined();
    expect(worker!.image).toBe(api!.image);
    expect(worker!.build).toEqual(api!.build);
    expect(services.migrate!.image).toBe(api!.image);
    expect(commandText(api!)).toMatch(/src\/api\/server\.ts$/);
    expect(commandText(worker!)).toMatch(/worker\.ts$/);
    expect(commandText(services.migrate!)).toMatch(/src\/db\/migrate-cli\.ts$/);
  });

  it('when an app service sets a variable, then matterflow reads it (a typo fails here)', () => {
    for (const name of APP_SERVICES) {
      const keys = Object.keys(services[name]?.environment ?? {});
      expect(keys.length, `${name} sets no environment`).toBeGreaterThan(0);
      expect(
        keys.filter((k) => !CONFIG_KEYS.includes(k)),
        `${name}`,
      ).toEqual([]);
    }
  });

  it('when a value is a secret, then it comes from required interpolation, never a literal', () => {
    const required = /^\$\{\w+:\?[^}]+\}$/;
    for (const [name, service] of Object.entries(services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        const text = String(value);
        if (/SECRET|TOKEN|PASSWORD|PWD|KEY$/.test(key)) {
          expect(text, `${name}.${key}`).toMatch(required);
        }
        const password = /:\/\/[^:/@]+:([^@]+)@/.exec(text)?.[1];
        if (password !== undefined) expect(password, `${name}.${key} password`).toMatch(required);
      }
    }
  });

  it("when the API's environment is loaded by loadConfig, then it is accepted and fit for production", () => {
    const config: Readonly<Config> = loadConfig(envOf('api'));
    expect(config.databaseUrl).toMatch(/@postgres:5432\//);
    // Set, so the API connects to the cluster instead of expecting a dev server.
    expect(config.temporalExternal).toBe(true);
    expect(config.adminToken).toBeDefined();
    expect(config.host).toBe('0.0.0.0');
    expect(config.publicBaseUrl).not.toMatch(/127\.0\.0\.1|localhost/);
    // Their own keys, so LINK_SECRET can rotate without breaking webhooks or sealed callback secrets.
    expect(config.webhookSecret).not.toBe(config.linkSecret);
    expect(config.callbackSecretKey).not.toBe(config.linkSecret);
    const published = (services.api!.ports ?? []).map(String);
    expect(published.some((p) => p.endsWith(`:${config.port}`))).toBe(true);
    expect(JSON.stringify(services.api!.healthcheck?.test)).toContain(`:${config.port}/readyz`);
  });

  it("when the worker's environment is loaded, then it agrees with the API on everything they share", () => {
    const api = loadConfig(envOf('api'));
    const worker = loadConfig(envOf('worker'));
    expect(worker.databaseUrl).toBe(api.databaseUrl);
    expect(worker.temporalExternal).toBe(true);
    expect(worker.temporalAddress).toBe(api.temporalAddress);
    expect(worker.namespace).toBe(api.namespace);
    expect(worker.taskQueue).toBe(api.taskQueue);
    // The worker writes the action links and opens what the API sealed.
    expect(worker.publicBaseUrl).toBe(api.publicBaseUrl);
    expect(worker.linkSecret).toBe(api.linkSecret);
    expect(worker.webhookSecret).toBe(api.webhookSecret);
    expect(worker.callbackSecretKey).toBe(api.callbackSecretKey);
  });

  it('when loadConfig requires a variable, then both API and worker set it, to the same value', () => {
    const apiEnv = envOf('api');
    // Derived from loadConfig itself: whatever it refuses to start without.
    const requiredKeys = Object.keys(apiEnv).filter((key) => {
      const { [key]: _dropped, ...rest } = apiEnv;
      return !accepts(rest);
    });
    expect(requiredKeys).toContain('LINK_SECRET');
    const apiRaw = rawEnvOf('api');
    const workerRaw = rawEnvOf('worker');
    for (const key of [...requiredKeys, 'DATABASE_URL', 'TEMPORAL_ADDRESS']) {
      expect(workerRaw[key], `worker ${key}`).toBeDefined();
      expect(workerRaw[key], `worker ${key}`).toBe(apiRaw[key]);
    }
    for (const [key, value] of Object.entries(workerRaw)) {
      if (key in apiRaw) expect(value, `worker ${key}`).toBe(apiRaw[key]);
    }
    expect(rawEnvOf('migrate').DATABASE_URL).toBe(apiRaw.DATABASE_URL);
  });

  it('when a service waits for another, then it waits for it to be healthy or, for a job, completed', () => {
    for (const name of Object.keys(services)) {
      for (const [target, { condition }] of Object.entries(dependsOn(name))) {
        const dep = services[target];
        expect(dep, `${name} depends on unknown ${target}`).toBeDefined();
        const expected = isOneShot(dep!) ? 'service_completed_successfully' : 'service_healthy';
        expect(condition, `${name} → ${target}`).toBe(expected);
        if (expected === 'service_healthy') expect(hasHealthcheck(dep!), target).toBe(true);
      }
    }
    for (const name of ['api', 'worker']) {
      expect(dependsOn(name).migrate?.condition).toBe('service_completed_successfully');
      expect(dependsOn(name)['temporal-search-attributes']?.condition).toBe('service_completed_successfully');
      expect(dependsOn(name).temporal?.condition).toBe('service_healthy');
    }
  });

  it('when ports are published, then only the API and the UI are, and the UI on loopback only', () => {
    const publishing = Object.entries(services).filter(([, s]) => (s.ports ?? []).length > 0);
    expect(publishing.map(([name]) => name).sort()).toEqual(['api', 'temporal-ui']);
    for (const port of services['temporal-ui']!.ports!) expect(String(port)).toMatch(/^127\.0\.0\.1:/);
    // The API's bind address is a variable whose default is loopback: a proxy with TLS goes in front.
    for (const port of services.api!.ports!) expect(interpolate(String(port))).toMatch(/^127\.0\.0\.1:/);
  });

  it('when Temporal is deployed, then it runs on Postgres and apps and UI reach it by service name', () => {
    const temporal = envOf('temporal');
    expect(temporal.DB).toBe('postgres12');
    expect(services[temporal.POSTGRES_SEEDS ?? '']).toBeDefined();
    expect(dependsOn('temporal')[temporal.POSTGRES_SEEDS ?? '']?.condition).toBe('service_healthy');
    for (const name of ['api', 'worker', 'temporal-ui']) {
      expect(services[hostPort(envOf(name).TEMPORAL_ADDRESS ?? '').host], name).toBeDefined();
    }
    const databaseHost = new URL(envOf('api').DATABASE_URL ?? '').hostname;
    expect(services[databaseHost]?.image).toMatch(/^postgres:/);
  });

  it('when workflows set search attributes, then each one is registered on the server with its type', () => {
    const job = services['temporal-search-attributes'];
    expect(job).toBeDefined();
    expect(isOneShot(job!)).toBe(true);
    const registered = commandText(job!).match(
      /\b\w+=(?:Keyword|Datetime|Int|Text|Double|Bool|KeywordList)\b/g,
    );
    const expected = searchAttributeArgs().filter((a) => a !== '--search-attribute');
    expect([...(registered ?? [])].sort()).toEqual([...expected].sort());
  });

  it("when the worker is deployed, then its V8 heap limit holds its cache and fits its container's memory", () => {
    const command = services.worker!.command as string[];
    const flag = command.findIndex((arg) => arg.startsWith('--max-old-space-size='));
    // A Node flag only counts before the script and its loader.
    expect(flag).toBeGreaterThan(0);
    expect(flag).toBeLessThan(command.indexOf('--import'));
    const heapMb = Number(command[flag]!.split('=')[1]);
    const fit = heapFit(loadConfig(envOf('worker')).worker.maxCachedWorkflows, heapMb);
    expect(fit.fits, JSON.stringify(fit)).toBe(true);
    const limit = /^(\d+)([mg])$/.exec(services.worker!.deploy?.resources?.limits?.memory ?? '');
    expect(limit, 'worker memory limit').not.toBeNull();
    const limitMb = Number(limit![1]) * (limit![2] === 'g' ? 1024 : 1);
    // The SDK core's native memory and the main thread's heap come on top of the workflow heap.
    expect(heapMb).toBeLessThanOrEqual(limitMb / 2);
  });

  it('when an app command names a file, then the file exists and the image copies it', () => {
    const copied = read('Dockerfile')
      .split('\n')
      .filter((line) => /^COPY (?!--from)/.test(line))
      .flatMap((line) => line.split(/\s+/).slice(1, -1));
    for (const name of APP_SERVICES.concat('worker-health')) {
      const text =
        name === 'worker-health'
          ? JSON.stringify(services.worker!.healthcheck?.test)
          : commandText(services[name]!);
      const file = /[\w/.-]+\.(?:ts|mjs)/.exec(text)?.[0];
      expect(file, name).toBeDefined();
      expect(existsSync(`${ROOT}${file}`), file).toBe(true);
      expect(
        copied.some((c) => file === c || file!.startsWith(`${c.replace(/\/$/, '')}/`)),
        `${file} is not copied into the image`,
      ).toBe(true);
    }
  });
});

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions per stage, continuation lines joined and comments dropped. */
function dockerfileStages(text: string): Instruction[][] {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Instruction[][] = [];
  for (const line of lines) {
    const [, op = '', args = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    const instruction = { op: op.toUpperCase(), args };
    if (instruction.op === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

describe('Dockerfile', () => {
  const stages = dockerfileStages(read('Dockerfile'));
  const final = stages.at(-1) ?? [];
  const all = stages.flat();
  const index = (pred: (i: Instruction) => boolean) => all.findIndex(pred);

  it('when the image is built, then it has a build stage and a runtime stage on node:20-bookworm-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage[0]?.args).toMatch(/^node:20-bookworm-slim\b/);
    expect(final.some((i) => i.op === 'COPY' && /--from=/.test(i.args) && /node_modules/.test(i.args))).toBe(
      true,
    );
  });

  it('when npm ci runs patch-package, then the patches are already there, and dev packages are pruned after', () => {
    const ci = index((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
    const patches = index((i) => i.op === 'COPY' && /\bpatches\b/.test(i.args));
    const prune = index((i) => i.op === 'RUN' && /npm prune --omit=dev/.test(i.args));
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(patches).toBeGreaterThanOrEqual(0);
    expect(patches).toBeLessThan(ci);
    expect(prune).toBeGreaterThan(ci);
  });

  it('when the container runs, then it runs as a non-root user in production mode with a health check', () => {
    const user = final.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(final.some((i) => i.op === 'ENV' && /\bNODE_ENV=production\b/.test(i.args))).toBe(true);
    expect(final.find((i) => i.op === 'HEALTHCHECK')?.args).toContain('/healthz');
    expect(final.find((i) => i.op === 'CMD')?.args).toContain('src/api/server.ts');
  });

  it("when the image runs, then glibc keeps two malloc arenas, not eight per core for the SDK core's threads", () => {
    expect(final.some((i) => i.op === 'ENV' && /\bMALLOC_ARENA_MAX=2\b/.test(i.args))).toBe(true);
  });

  it('when the image is built, then it bundles the workflow code once and workers load that bundle', () => {
    const build = final.find((i) => i.op === 'RUN' && /scripts\/build-workflows\.ts/.test(i.args));
    expect(build).toBeDefined();
    const out = /build-workflows\.ts\s+(\S+)/.exec(build!.args)?.[1];
    expect(out).toBeDefined();
    const env = final.find((i) => i.op === 'ENV' && /\bWORKFLOW_BUNDLE_PATH=/.test(i.args));
    expect(/WORKFLOW_BUNDLE_PATH=(\S+)/.exec(env?.args ?? '')?.[1]).toBe(`/app/${out}`);
    expect(CONFIG_KEYS).toContain('WORKFLOW_BUNDLE_PATH');
    // Written before the switch to the unprivileged user, who only reads it.
    expect(final.indexOf(build!)).toBeLessThan(final.findIndex((i) => i.op === 'USER'));
  });

  it('when the build context is sent, then local state stays out of it', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim());
    for (const entry of ['node_modules', '.data', '.tools', '.git', '.env', 'dist'])
      expect(ignored).toContain(entry);
  });
});
