import type { MatterView, OutboundMessage } from '../../src/channels/channel.js';

export const actionLink = (token: string) => `https://mf.example.com/a/${token}`;

export const actionLinks = (...actions: string[]) =>
  actions.map((action) => ({ action, url: actionLink(`tok-${action}`) }));

/** A reminder of an ERP matter; tests override what their channel has to escape, cut or lay out. */
export function outboundMessage(
  overrides: Partial<Omit<OutboundMessage, 'matter'>> & { matter?: Partial<MatterView> } = {},
): OutboundMessage {
  const { matter, ...rest } = overrides;
  return {
    type: 'matter.reminder',
    matter: {
      id: 'm-42',
      source: 'erp',
      externalId: 'ERP-42',
      title: '核对 <金库> 台账 & 报表',
      details: null,
      link: 'https://erp.example.com/m/42?a=1&b=2',
      dueAt: '2026-07-03T09:30:00.000Z',
      priority: 'high',
      status: 'open',
      handlerId: 'u-zhang',
      createdAt: '2026-07-01T08:00:00.000Z',
      ...matter,
    },
    handler: { id: 'u-zhang', name: '张三' },
    actions: actionLinks('complete', 'transfer'),
    idempotencyKey: 'matter:erp:ERP-42:3:u-zhang',
    data: {},
    ...rest,
  };
}

/** The notice that the matter was completed, which offers nothing more to do. */
export function completedNotice(
  message: OutboundMessage,
  overrides: Partial<OutboundMessage> = {},
): OutboundMessage {
  return {
    ...message,
    type: 'matter.completed',
    matter: { ...message.matter, status: 'completed' },
    actions: [],
    ...overrides,
  };
}

/** Shaped like a minted action token (payload.signature), since WeCom button keys carry the whole token. */
export const purchaseOrderToken = (action: string) =>
  `${Buffer.from(JSON.stringify(['m-1', 'h-1', action, 1751622400, 'n0nce'])).toString('base64url')}.sig-${action}`;

export const purchaseOrderLink = (action: string) => actionLink(purchaseOrderToken(action));

/** Its title and details hold every character that WeCom and DingTalk markdown must escape. */
export const purchaseOrderReminder = outboundMessage({
  matter: {
    id: 'm-1',
    externalId: 'PO-2024-0042',
    title: '审批采购单 "PO-42" <紧急> & [财务] *加急* 50% \\ 路径',
    details: '请在周五前处理：\n1. 核对发票 #A-1\n2. 联系供应商 `张三` > 确认金额',
    link: 'https://erp.example.com/po/42?from=mf&x=(1)',
    dueAt: '2025-07-04T10:00:00.000Z',
    handlerId: 'h-1',
    groupId: null,
    createdAt: '2025-07-01T02:00:00.000Z',
  },
  handler: { id: 'h-1', name: '李四' },
  actions: ['complete', 'transfer', 'exception'].map((action) => ({
    action,
    url: purchaseOrderLink(action),
  })),
  idempotencyKey: 'matter-m-1:7:h-1',
});
