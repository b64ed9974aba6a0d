import { eq, inArray, type Placeholder, type SQL, sql } from 'drizzle-orm';
import { type RunStatus, runs } from './schema';

// Conditions for a statement that finds its run by id, besides `runs.id = …`.
//
// Each compares `column || ''`, which no index covers, so PostgreSQL can only reach the row
// through the primary key. Compared on the columns themselves, the planner may use another
// index: runs_unfinished_idx for a status (once most runs have ended, the statistics say
// almost none is queued or running) or runs_project_created_idx for a project (on a table not
// analyzed yet, such as a new install's). Both plans scan every entry of the project, or every
// unfinished run and the dead entries of recently finished ones, for one row: a prepared
// statement keeps such a plan for the life of its connection, and each fenced update got
// slower as the table grew (most of a worker's PostgreSQL CPU in the sync bench).

/** The run's status is one of `statuses`. */
export function keyedRunStatusIn(statuses: readonly [RunStatus, ...RunStatus[]]): SQL {
  return inArray(sql`(${runs.status} || '')`, [...statuses]);
}

/** The run belongs to `projectId` (a value or a placeholder). */
export function keyedRunOfProject(projectId: string | Placeholder): SQL {
  return eq(sql`(${runs.projectId} || '')`, projectId);
}
