/**
 * Storage layout of the embedded log. Offsets live in `partitions.next_offset`, not in
 * MAX(offset), so they keep increasing after retention empties a partition. The records of each
 * partition are a table of their own (`partitionTable`).
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS topics (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  partitions INTEGER NOT NULL,
  retention_ms INTEGER,
  retention_bytes INTEGER
);
CREATE TABLE IF NOT EXISTS partitions (
  topic_id INTEGER NOT NULL,
  partition INTEGER NOT NULL,
  next_offset INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (topic_id, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS offsets (
  group_id TEXT NOT NULL,
  topic_id INTEGER NOT NULL,
  partition INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  PRIMARY KEY (group_id, topic_id, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members (
  group_id TEXT NOT NULL,
  member_id TEXT NOT NULL,
  topics TEXT NOT NULL,
  heartbeat INTEGER NOT NULL,
  PRIMARY KEY (group_id, member_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claims (
  group_id TEXT NOT NULL,
  topic_id INTEGER NOT NULL,
  partition INTEGER NOT NULL,
  member_id TEXT NOT NULL,
  PRIMARY KEY (group_id, topic_id, partition)
) WITHOUT ROWID;
`;

/**
 * One table per partition, the offset its rowid: an append is one B-tree insert at the table's end
 * and a read one range scan, with no position index beside it (a shared rowid table with a
 * (topic, partition, offset) index cost a second B-tree insert per record and an index lookup per
 * record read).
 */
export const partitionTable = (topicId: number, partition: number): string => `log_${topicId}_${partition}`;

export const partitionTableSql = (topicId: number, partition: number): string =>
  `CREATE TABLE IF NOT EXISTS ${partitionTable(topicId, partition)} (
  offset INTEGER PRIMARY KEY,
  key TEXT,
  value TEXT NOT NULL,
  headers TEXT,
  timestamp INTEGER NOT NULL,
  size INTEGER NOT NULL
)`;

/** The layout before per-partition tables (files written before 2026-12-02): moved on open. */
export const LEGACY_RECORDS = 'records';
