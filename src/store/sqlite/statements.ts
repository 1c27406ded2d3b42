// Prepared statements are compiled once per connection: preparing costs more than running.
import type Database from 'better-sqlite3';

/** `prepare` with a per-connection cache keyed by the SQL text. */
export function preparedStatements(db: Database.Database): (sql: string) => Database.Statement {
  const statements = new Map<string, Database.Statement>();
  return (sql) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
}
