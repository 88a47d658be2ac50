import { describe, expect, it } from 'vitest';
import { openDb } from '../../src/store/db.js';
import { EventStore } from '../../src/store/store.js';
import { DATABASE_URL, postgresAvailable } from './databases.js';

describe.runIf(postgresAvailable)('a DATABASE_URL whose search_path names no existing schema', () => {
  it('is refused with what to do, not with PostgreSQL\'s "no schema has been selected to create in"', async () => {
    const schema = `tw_missing_${Math.random().toString(16).slice(2, 10)}`;
    const url = `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const db = await openDb({ databaseUrl: url });
    try {
      const migrating = new EventStore(db).migrate();
      await expect(migrating).rejects.toThrow(new RegExp(`no schema to create tickwire's tables in: its search_path is ${schema} .*CREATE SCHEMA`));
    } finally {
      await db.close();
    }
  });
});
