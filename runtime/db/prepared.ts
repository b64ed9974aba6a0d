import type { Database } from './client';

/**
 * A statement prepared once per database handle: drizzle builds its SQL once, and PostgreSQL
 * parses and plans it once per connection (a named statement) instead of on every call.
 */
export function preparedPerDatabase<T>(prepare: (db: Database) => T): (db: Database) => T {
  const statements = new WeakMap<Database, T>();
  return (db) => {
    let statement = statements.get(db);
    if (statement === undefined) {
      statement = prepare(db);
      statements.set(db, statement);
    }
    return statement;
  };
}
