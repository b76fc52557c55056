import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { listChangeRequests } from '../../db/change-requests.js';
import type { Sql } from '../../db/client.js';
import { principalOf, requireRole } from '../auth.js';
import type { ChangeService } from '../change-service.js';
import { presentChangeRequest } from '../presenters.js';
import { previewChange } from '../rule-preview.js';
import {
  ApproveBody,
  ChangeRequestBody,
  ChangeRequestQuery,
  ChangeRequestView,
  ErrorResponse,
  MatterIdParams,
  PreviewView,
  RejectBody,
} from '../schemas.js';

const secured = [{ bearer: [] }];
const ChangeRequestDetail = Type.Composite([
  ChangeRequestView,
  Type.Object({ preview: Type.Optional(PreviewView) }),
]);
const readers = requireRole('admin', 'manager', 'reviewer', 'auditor');
const reviewers = requireRole('admin', 'reviewer');

export const changeRequestRoutes: FastifyPluginAsyncTypebox<{ sql: Sql; changes: ChangeService }> = async (
  app,
  { sql, changes },
) => {
  app.post(
    '/v1/change-requests',
    {
      preHandler: requireRole('admin', 'manager'),
      schema: {
        tags: ['review'],
        summary:
          'Propose adding, modifying or deleting a matter; nothing changes until another person approves',
        security: secured,
        body: ChangeRequestBody,
        response: { 201: ChangeRequestView, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const cr = await changes.propose(request.body, principalOf(request).subject);
      return reply
        .code(201)
        .header('location', `/v1/change-requests/${cr.id}`)
        .send(presentChangeRequest(cr));
    },
  );

  app.get(
    '/v1/change-requests',
    {
      preHandler: readers,
      schema: {
        tags: ['review'],
        summary: 'Change requests, newest first; `status=pending` is the review queue',
        security: secured,
        querystring: ChangeRequestQuery,
        response: { 200: Type.Object({ items: Type.Array(ChangeRequestView) }), '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { limit, ...filter } = request.query;
      return { items: (await listChangeRequests(sql, filter, limit)).map(presentChangeRequest) };
    },
  );

  app.get(
    '/v1/change-requests/:id',
    {
      preHandler: readers,
      schema: {
        tags: ['review'],
        summary: 'A change request with its proposal, its diff and the reminders it would plan',
        security: secured,
        params: MatterIdParams,
        response: { 200: ChangeRequestDetail, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const cr = await changes.get(request.params.id);
      const preview = await previewChange(sql, cr);
      return { ...presentChangeRequest(cr), ...(preview ? { preview } : {}) };
    },
  );

  app.post(
    '/v1/change-requests/:id/approve',
    {
      preHandler: reviewers,
      schema: {
        tags: ['review'],
        summary: 'Approve and apply a change; never by its maker',
        security: secured,
        params: MatterIdParams,
        body: ApproveBody,
        response: { 200: ChangeRequestView, '4xx': ErrorResponse },
      },
    },
    async (request) =>
      presentChangeRequest(
        await changes.approve(request.params.id, principalOf(request).subject, request.body.comment ?? null),
      ),
  );

  app.post(
    '/v1/change-requests/:id/reject',
    {
      preHandler: reviewers,
      schema: {
        tags: ['review'],
        summary: 'Reject a change with a comment; the matter stays as it was',
        security: secured,
        params: MatterIdParams,
        body: RejectBody,
        response: { 200: ChangeRequestView, '4xx': ErrorResponse },
      },
    },
    async (request) =>
      presentChangeRequest(
        await changes.reject(request.params.id, principalOf(request).subject, request.body.comment),
      ),
  );
};
