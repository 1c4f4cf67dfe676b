/**
 * Presence and typing over stateless messages (Presence holds the state and the per-user throttles).
 * - connected: a connection to the presence document gets everyone's status at once.
 * - onStateless: `away` on the presence document; `typing` on a room's head document, relayed with
 *   the sender's real id. Anything else, or anything malformed, is ignored.
 */
import type { Extension, connectedPayload, onStatelessPayload } from '@hocuspocus/server';
import { PRESENCE_DOC, type StatelessFromClient, type StatelessFromServer } from '../../../src/lib/protocol/schema.ts';
import type { Presence } from '../presence.ts';
import type { CollabContext } from '../context.ts';

export class PresenceExtension implements Extension {
  extensionName = 'presence';
  priority = 500;

  constructor(private configuration: { presence: () => Presence }) {}

  async connected({ documentName, connection }: connectedPayload<CollabContext>): Promise<void> {
    if (documentName !== PRESENCE_DOC) return;
    connection.sendStateless(JSON.stringify({ t: 'presence-all', users: this.configuration.presence().snapshot() } satisfies StatelessFromServer));
  }

  async onStateless({ connection, documentName, document, payload }: onStatelessPayload): Promise<void> {
    const ctx = connection.context as CollabContext;
    const userId = ctx.user?.id;
    if (!userId || payload.length > 200) return;
    let msg: StatelessFromClient;
    try {
      msg = JSON.parse(payload) as StatelessFromClient;
    } catch {
      return;
    }
    const presence = this.configuration.presence();
    if (documentName === PRESENCE_DOC && msg.t === 'away' && typeof msg.away === 'boolean') presence.setAway(userId, msg.away);
    else if (msg.t === 'typing' && ctx.access?.roomId && ctx.access.segment === null) presence.typing(document, userId);
  }
}
