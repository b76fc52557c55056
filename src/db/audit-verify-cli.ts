import { databaseUrlFrom } from '../config.js';
import { verifyAuditChain } from './audit.js';
import { createSql } from './client.js';

/** `npm run audit:verify`: exit 0 when the chain is whole, 1 naming the first broken row otherwise. */
const sql = createSql(databaseUrlFrom(), { max: 1 });
const report = await verifyAuditChain(sql);
await sql.end({ timeout: 5 });
console.log(JSON.stringify(report, null, 2));
process.exit(report.ok ? 0 : 1);
