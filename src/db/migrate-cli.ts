import { databaseUrlFrom } from '../config.js';
import { migrate } from './migrate.js';

const names = await migrate(databaseUrlFrom(), console);
console.log(names.length ? `applied ${names.length} migration(s)` : 'database is up to date');
