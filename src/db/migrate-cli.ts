import { loadConfig } from '../config.js';
import { migrate } from './migrate.js';

const config = loadConfig();
if (!config.databaseUrl) {
  console.error('DATABASE_URL is required to migrate');
  process.exit(2);
}
const names = await migrate(config.databaseUrl, console);
console.log(names.length ? `applied ${names.length} migration(s)` : 'database is up to date');
