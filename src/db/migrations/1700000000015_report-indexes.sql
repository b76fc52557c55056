-- Up Migration

-- Reports select by time range first; the existing indexes lead with type, status or source.
-- (filed_at, id) also serves the newest-first keyset paging of the filings list.
create index exception_filings_filed_at on exception_filings (filed_at, id);
create index matters_created_at on matters (created_at);
create index matters_source_created_at on matters (source, created_at);
