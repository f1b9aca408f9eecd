import { atParentsInstant, exitWithOutcome } from '@soc/testkit/cold-open';
import { AuthDb } from '../auth-db.ts';

/** A child of `openAtOnce`: opens a new auth database with the others and closes it. */
await atParentsInstant();
await exitWithOutcome(async () => {
  const db = new AuthDb(process.argv[2]!);
  db.hasUsers();
  db.close();
});
