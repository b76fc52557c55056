-- Up Migration

alter table handlers add column locale text not null default 'zh-CN' check (locale in ('zh-CN', 'en'));
