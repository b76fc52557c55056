import type { FastifyInstance } from 'fastify';

/**
 * Every route the app serves, as `METHOD /path/{param}`, read from its own route tree so that a route
 * added later (documented or hidden from the OpenAPI document) shows up here by itself. HEAD is left out
 * where Fastify derives it from a GET.
 */
export function routesOf(app: FastifyInstance): string[] {
  const tree = app.printRoutes({ commonPrefix: false });
  const prefixes: string[] = [];
  const routes = new Set<string>();
  for (const line of tree.split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+)(?: \(([^)]*)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const path = `${prefixes[depth - 1] ?? ''}${match[2]}`.replace(/\/\/+/g, '/');
    prefixes[depth] = path;
    prefixes.length = depth + 1;
    const methods = (match[3] ?? '').split(', ').filter(Boolean);
    for (const method of methods) {
      if (method === 'HEAD' && methods.includes('GET')) continue;
      routes.add(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  return [...routes].sort();
}
