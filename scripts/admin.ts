/**
 * `npm run admin -- <command>`: server admins from the shell, for the day nobody can log in.
 *
 *   create   --username <u> --password <p> [--display-name <n>] [--admin]
 *   password --username <u> --password <p>     (ends the user's sessions)
 *   grant    --username <u>                    (server admin role)
 *   revoke   --username <u>                    (never the last enabled admin)
 *   enable   --username <u> · disable --username <u>
 *   list
 *
 * Works on DATA_DIR (default ./data), with or without the server running (SQLite WAL). Every
 * change is written to the audit log as done by "shell".
 */
import path from 'node:path';
import pino from 'pino';
import { openDatabase } from '../server/db/database.ts';
import { loadConfig } from '../server/config.ts';
import { buildServices } from '../server/services.ts';
import { DomainError } from '../server/domain/errors.ts';

const [command, ...rest] = process.argv.slice(2);
const args: Record<string, string | true> = {};
for (let i = 0; i < rest.length; i++) {
  const a = rest[i];
  if (!a.startsWith('--')) continue;
  const next = rest[i + 1];
  if (next !== undefined && !next.startsWith('--')) {
    args[a.slice(2)] = next;
    i++;
  } else args[a.slice(2)] = true;
}
const str = (k: string) => (typeof args[k] === 'string' ? (args[k] as string) : null);
const die = (msg: string): never => {
  console.error(`[admin] ${msg}`);
  process.exit(2);
};

const config = loadConfig(process.env, { logLevel: 'silent' });
const db = openDatabase(path.join(config.dataDir, 'messenger.db'), config.sqliteSynchronous);
const s = buildServices(db, config, { log: pino({ level: 'silent' }) });

function userOf(): { id: string; username: string } {
  const username = str('username') ?? die('--username is required');
  const u = s.repos.users.byUsername(username);
  if (!u) die(`no user ${username}`);
  return u!;
}

try {
  switch (command) {
    case 'create': {
      const username = str('username') ?? die('--username is required');
      const password = str('password') ?? die('--password is required');
      const id = await s.accounts.createUser({ username, password, displayName: str('display-name') ?? undefined }, (id) => {
        if (args.admin) db.prepare('UPDATE users SET is_admin = 1 WHERE id = ?').run(id);
        s.audit.record({ actorId: null, action: 'admin.user.create', targetType: 'user', targetId: id, ip: 'shell', details: { username, admin: !!args.admin, by: 'npm run admin' } });
      });
      console.log(`[admin] created ${username} (${id})${args.admin ? ' as a server admin' : ''}`);
      break;
    }
    case 'password': {
      const u = userOf();
      const password = str('password') ?? die('--password is required');
      await s.admin.resetPassword(null as unknown as string, u.id, password);
      console.log(`[admin] new password for ${u.username}; their sessions ended`);
      break;
    }
    case 'grant':
    case 'revoke':
    case 'enable':
    case 'disable': {
      const u = userOf();
      const patch = command === 'grant' ? { admin: true } : command === 'revoke' ? { admin: false } : { disabled: command === 'disable' };
      s.admin.updateUser(null as unknown as string, u.id, patch);
      console.log(`[admin] ${command}: ${u.username}`);
      break;
    }
    case 'list': {
      for (const u of s.admin.listUsers('', 100, 0).users) console.log(`${u.isAdmin ? '*' : ' '} ${u.disabled ? 'disabled ' : ''}${u.username}\t${u.displayName}\t${u.id}`);
      break;
    }
    default:
      die('usage: npm run admin -- create|password|grant|revoke|enable|disable|list [--username u] [--password p] [--admin]');
  }
} catch (e) {
  if (e instanceof DomainError) die(`${e.code}: ${e.message}`);
  throw e;
} finally {
  db.close();
}
