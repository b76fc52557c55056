import type { FastifyInstance } from 'fastify';
import { listMatters } from '../../db/matters.js';
import { CONSOLE_ROLES, MAKERS, may, REVIEWERS, refused, web } from '../console-pages.js';
import { reviewCounts } from '../console-queries.js';
import type { WebDeps } from '../plugin.js';
import { consoleCatalogRoutes } from './console-catalogs.js';
import { consoleMatterRoutes } from './console-matters.js';
import { consoleReviewRoutes } from './console-reviews.js';

/** Open matters a manager may pick to change, newest first. */
const RECENT_MATTERS = 20;

/** The manager's and reviewer's pages: every change to a matter goes through a change request. */
export async function consoleRoutes(app: FastifyInstance, deps: WebDeps) {
  // Nobody else opens a console page, whatever it is; the hook holds for every plugin registered below.
  app.addHook('preHandler', async (request, reply) => {
    if (!may(request, CONSOLE_ROLES)) return refused(reply);
  });

  app.get(
    '/console',
    { schema: web('The console: reviews waiting, my requests, and where to go') },
    async (request, reply) => {
      const user = request.webUser!;
      const [counts, recent] = await Promise.all([
        reviewCounts(deps.sql, user.subject),
        may(request, MAKERS) ? listMatters(deps.sql, { status: 'open' }, { limit: RECENT_MATTERS }) : [],
      ]);
      return reply.page('console', {
        nav: 'console',
        counts,
        maker: may(request, MAKERS),
        reviewer: may(request, REVIEWERS),
        recent,
      });
    },
  );

  await app.register(consoleMatterRoutes, deps);
  await app.register(consoleReviewRoutes, deps);
  await app.register(consoleCatalogRoutes, deps);
}
