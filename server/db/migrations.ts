/**
 * Numbered schema migrations. Never edit a landed migration: add the next number.
 * Tests build their in-memory databases with the same list.
 */
export const MIGRATIONS: { id: number; name: string; sql: string }[] = [
  {
    id: 1,
    name: 'accounts-rooms-documents',
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        display_name TEXT NOT NULL,
        status_message TEXT NOT NULL DEFAULT '',
        password_hash TEXT,
        is_admin INTEGER NOT NULL DEFAULT 0,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        secret_hash BLOB NOT NULL,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        user_agent TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX sessions_user ON sessions(user_id);

      CREATE TABLE rooms (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
        name TEXT NOT NULL DEFAULT '',
        visibility TEXT NOT NULL DEFAULT 'joined' CHECK (visibility IN ('joined', 'shared')),
        created_at INTEGER NOT NULL,
        last_activity_at INTEGER NOT NULL,
        last_seq INTEGER NOT NULL DEFAULT 0,
        open_segment INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE room_members (
        room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
        joined_at INTEGER NOT NULL,
        pinned INTEGER NOT NULL DEFAULT 0,
        muted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (room_id, user_id)
      );
      CREATE INDEX room_members_user ON room_members(user_id);
      -- the 1:1 room of a pair; user_a < user_b
      CREATE TABLE direct_pairs (
        user_a TEXT NOT NULL,
        user_b TEXT NOT NULL,
        room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        PRIMARY KEY (user_a, user_b)
      );
      CREATE TABLE segments (
        room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        n INTEGER NOT NULL,
        opened_at INTEGER NOT NULL,
        sealed_at INTEGER,
        message_count INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        first_at INTEGER,
        last_at INTEGER,
        PRIMARY KEY (room_id, n)
      );
      -- who may read a segment of a 'joined' room: the members while it was open
      CREATE TABLE segment_readers (
        room_id TEXT NOT NULL,
        n INTEGER NOT NULL,
        user_id TEXT NOT NULL,
        PRIMARY KEY (room_id, n, user_id),
        FOREIGN KEY (room_id, n) REFERENCES segments(room_id, n) ON DELETE CASCADE
      );

      -- Yjs persistence: a compacted snapshot plus the tail of updates appended since
      CREATE TABLE doc_snapshots (
        name TEXT PRIMARY KEY,
        state BLOB NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE doc_updates (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        data BLOB NOT NULL
      );
      CREATE INDEX doc_updates_name ON doc_updates(name, id);
      -- which user writes with which Yjs client id in a document (a client id is bound to one user)
      CREATE TABLE doc_clients (
        name TEXT NOT NULL,
        client_id INTEGER NOT NULL,
        user_id TEXT NOT NULL,
        PRIMARY KEY (name, client_id)
      );
    `,
  },
  {
    id: 2,
    name: 'reads-pins-polls',
    sql: `
      ALTER TABLE room_members ADD COLUMN read_seq INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE pins (
        id TEXT PRIMARY KEY,
        room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        message_id TEXT,
        segment INTEGER,
        text TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX pins_room ON pins(room_id, created_at);
      CREATE TABLE polls (
        id TEXT PRIMARY KEY,
        room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        created_by TEXT NOT NULL,
        question TEXT NOT NULL,
        multiple INTEGER NOT NULL,
        anonymous INTEGER NOT NULL,
        ends_at INTEGER,
        closed_at INTEGER,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX polls_room ON polls(room_id);
      CREATE INDEX polls_open_ending ON polls(ends_at) WHERE closed_at IS NULL AND ends_at IS NOT NULL;
      CREATE TABLE poll_options (
        id TEXT PRIMARY KEY,
        poll_id TEXT NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        text TEXT NOT NULL
      );
      CREATE INDEX poll_options_poll ON poll_options(poll_id, idx);
      CREATE TABLE poll_votes (
        poll_id TEXT NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        option_id TEXT NOT NULL REFERENCES poll_options(id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        PRIMARY KEY (poll_id, user_id, option_id)
      );
    `,
  },
  {
    id: 3,
    name: 'room-messages',
    sql: `
      -- one row per message of a room, written with its seq (the receipt) in the same commit:
      -- message ids are unique per room, and a receipt is the same whichever process issues it
      CREATE TABLE room_messages (
        room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        message_id TEXT NOT NULL,
        segment INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        author TEXT NOT NULL,
        PRIMARY KEY (room_id, message_id)
      );
      CREATE UNIQUE INDEX room_messages_seq ON room_messages(room_id, seq);
      CREATE INDEX room_messages_segment ON room_messages(room_id, segment);
    `,
  },
  {
    id: 4,
    name: 'files',
    sql: `
      -- one row per upload. \`state\` is the scan job: queued/scanning while in quarantine, then clean,
      -- rejected (infected, bytes deleted) or error (clamd failed; retried). A clean file gets a
      -- one-time token (only its SHA-256 is stored); the commit that accepts the message carrying it
      -- sets message_id, which spends the token.
      CREATE TABLE files (
        id TEXT PRIMARY KEY,
        room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        uploader TEXT NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        type TEXT NOT NULL,
        ext TEXT NOT NULL,
        width INTEGER,
        height INTEGER,
        thumb INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL CHECK (state IN ('queued', 'scanning', 'clean', 'rejected', 'error')),
        reason TEXT,
        token_hash BLOB,
        token_expires_at INTEGER,
        message_id TEXT,
        segment INTEGER,
        attached_at INTEGER,
        created_at INTEGER NOT NULL,
        deleted_at INTEGER
      );
      CREATE INDEX files_room ON files(room_id, attached_at) WHERE message_id IS NOT NULL AND deleted_at IS NULL;
      CREATE INDEX files_message ON files(room_id, message_id) WHERE message_id IS NOT NULL;
      CREATE INDEX files_unattached ON files(created_at) WHERE message_id IS NULL;
      CREATE INDEX files_jobs ON files(state) WHERE state IN ('queued', 'scanning', 'error');
    `,
  },
  {
    id: 5,
    name: 'search',
    sql: `
      -- the searchable text of each message of a room, where it counts (segment), kept in the same
      -- commit as the write it reflects; the FTS5 index below holds its words and Hangul grams
      -- (src/lib/search/tokenize.ts), contentless: the text is stored once, here
      CREATE TABLE search_messages (
        id INTEGER PRIMARY KEY,
        room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        message_id TEXT NOT NULL,
        segment INTEGER NOT NULL,
        author TEXT NOT NULL,
        at INTEGER NOT NULL,
        text TEXT NOT NULL,
        UNIQUE (room_id, message_id)
      );
      -- words and grams of the text; scope: tokens for the room, the segment and the author, so
      -- that access and sender filters are doclist intersections inside FTS5. Rows are inserted in
      -- time order, so rowid DESC is newest first and a page stops early.
      CREATE VIRTUAL TABLE search_fts USING fts5(words, grams, scope, content='', columnsize=0, tokenize='unicode61 remove_diacritics 0');
      INSERT INTO search_fts(search_fts, rank) VALUES ('secure-delete', 1);
    `,
  },
  {
    id: 6,
    name: 'retention',
    sql: `
      -- a message erased by retention keeps its id row (ids stay unique per room: an old copy
      -- cannot come back under its id), marked erased; its content is gone everywhere
      ALTER TABLE room_messages ADD COLUMN erased_at INTEGER;
      CREATE INDEX room_messages_expiring ON room_messages(at) WHERE erased_at IS NULL;
      CREATE TABLE retention_runs (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        horizon INTEGER NOT NULL,
        segments_dropped INTEGER NOT NULL,
        messages_erased INTEGER NOT NULL,
        files_erased INTEGER NOT NULL,
        pins_removed INTEGER NOT NULL
      );
    `,
  },
  {
    id: 7,
    name: 'file-position',
    sql: `
      -- a file's place among its message's attachments: the room's file list keeps that order
      ALTER TABLE files ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    id: 8,
    name: 'audit-settings',
    sql: `
      -- every privileged action, written in the same transaction as the action itself
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor_id TEXT,
        actor_name TEXT NOT NULL DEFAULT '',
        action TEXT NOT NULL,
        target_type TEXT NOT NULL DEFAULT '',
        target_id TEXT NOT NULL DEFAULT '',
        room_id TEXT,
        ip TEXT NOT NULL DEFAULT '',
        details TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX audit_at ON audit_log(at);
      CREATE INDEX audit_room ON audit_log(room_id, at);
      CREATE INDEX audit_actor ON audit_log(actor_id, at);
      -- settings an admin changes at runtime (over the environment's defaults)
      CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `,
  },
  {
    id: 9,
    name: 'oidc-identities',
    sql: `
      -- single sign-on: an account is linked to the provider's (issuer, subject), the only stable,
      -- unique identity an OIDC provider gives; never by email (an email can be re-assigned or
      -- unverified). The email is kept for admins to read, not to match.
      CREATE TABLE oidc_identities (
        issuer TEXT NOT NULL,
        subject TEXT NOT NULL,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        email TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        last_login_at INTEGER NOT NULL,
        PRIMARY KEY (issuer, subject)
      );
      CREATE INDEX oidc_identities_user ON oidc_identities(user_id);
    `,
  },
  {
    id: 10,
    name: 'invites',
    sql: `
      -- invite links for REGISTRATION=invite-only: only the SHA-256 of the link's secret is stored
      CREATE TABLE invites (
        id TEXT PRIMARY KEY,
        token_hash BLOB NOT NULL UNIQUE,
        created_by TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        max_uses INTEGER NOT NULL,
        uses INTEGER NOT NULL DEFAULT 0,
        revoked_at INTEGER,
        note TEXT NOT NULL DEFAULT ''
      );
      ALTER TABLE users ADD COLUMN invite_id TEXT;
    `,
  },
  {
    id: 11,
    name: 'user-avatars',
    sql: `
      -- when the user last set a profile photo (null: none); the bytes are a file under uploads/avatars
      ALTER TABLE users ADD COLUMN avatar_at INTEGER;
    `,
  },
  {
    id: 12,
    name: 'search-indexed-upto',
    sql: `
      -- the FTS5 terms of search_messages rows are added in batches after their commit
      -- (SearchService.indexPendingInTx): rows with an id above \`upto\` have none yet. New rows always
      -- get an id above it (an id of a deleted row is never reused for an unindexed one)
      CREATE TABLE search_progress (id INTEGER PRIMARY KEY CHECK (id = 1), upto INTEGER NOT NULL);
      INSERT INTO search_progress (id, upto) VALUES (1, COALESCE((SELECT MAX(id) FROM search_messages), 0));
    `,
  },
];
