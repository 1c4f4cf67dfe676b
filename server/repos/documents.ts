/** Yjs document storage: snapshot + appended tail, and the client-id → user binding. */
import type { Db } from '../db/database.ts';

export function documentsRepo(db: Db) {
  const s = {
    snapshot: db.prepare('SELECT state FROM doc_snapshots WHERE name = ?').pluck(),
    tail: db.prepare('SELECT id, data FROM doc_updates WHERE name = ? ORDER BY id'),
    append: db.prepare('INSERT INTO doc_updates (name, data) VALUES (?, ?)'),
    tailCount: db.prepare('SELECT COUNT(*) FROM doc_updates WHERE name = ?').pluck(),
    maxId: db.prepare('SELECT MAX(id) FROM doc_updates WHERE name = ?').pluck(),
    upsertSnapshot: db.prepare(`INSERT INTO doc_snapshots (name, state, updated_at) VALUES (?, ?, ?)
                                ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`),
    dropCovered: db.prepare("DELETE FROM doc_updates WHERE name = ? AND id IN (SELECT value FROM json_each(?))"),
    removeSnapshots: db.prepare("DELETE FROM doc_snapshots WHERE name = ? OR name LIKE ? ESCAPE '\\'"),
    removeUpdates: db.prepare("DELETE FROM doc_updates WHERE name = ? OR name LIKE ? ESCAPE '\\'"),
    removeClients: db.prepare("DELETE FROM doc_clients WHERE name = ? OR name LIKE ? ESCAPE '\\'"),
    clientOwner: db.prepare('SELECT user_id FROM doc_clients WHERE name = ? AND client_id = ?').pluck(),
    bindClient: db.prepare('INSERT OR IGNORE INTO doc_clients (name, client_id, user_id) VALUES (?, ?, ?)'),
  };
  return {
    load: (name: string) => ({
      snapshot: (s.snapshot.get(name) as Buffer | undefined) ?? null,
      tail: s.tail.all(name) as { id: number; data: Buffer }[],
    }),
    /** Appends one update; returns its row id. */
    append: (name: string, data: Uint8Array) => Number(s.append.run(name, Buffer.from(data.buffer, data.byteOffset, data.byteLength)).lastInsertRowid),
    tailCount: (name: string) => s.tailCount.get(name) as number,
    /**
     * Replace the snapshot and drop exactly the tail rows merged into it, atomically. Rows another
     * process appended meanwhile (not in `covered`) stay: their content may not be in `state`.
     */
    compact: (name: string, state: Uint8Array, covered: number[], now: number) =>
      db.transaction(() => {
        s.upsertSnapshot.run(name, Buffer.from(state), now);
        s.dropCovered.run(name, JSON.stringify(covered));
      })(),
    maxUpdateId: (name: string) => (s.maxId.get(name) as number | null) ?? 0,
    /** Removes the head and every segment of a room. */
    removeRoomDocs: (roomId: string) => {
      const head = `room:${roomId}`;
      const prefix = `room:${roomId.replace(/[\\%_]/g, (c) => '\\' + c)}:%`;
      s.removeSnapshots.run(head, prefix);
      s.removeUpdates.run(head, prefix);
      s.removeClients.run(head, prefix);
    },
    /** Removes one document (a segment dropped by retention). */
    removeDoc: (name: string) => {
      const exact = name.replace(/[\\%_]/g, (c) => '\\' + c);
      s.removeSnapshots.run(name, exact);
      s.removeUpdates.run(name, exact);
      s.removeClients.run(name, exact);
    },
    clientOwner: (name: string, clientId: number) => s.clientOwner.get(name, clientId) as string | undefined,
    bindClient: (name: string, clientId: number, userId: string) => void s.bindClient.run(name, clientId, userId),
  };
}
export type DocumentsRepo = ReturnType<typeof documentsRepo>;
