/** Words for a server-written timeline line (pin, unpin, membership change), in the UI language. */
import type { Message } from '$lib/protocol/schema';
import { t } from '$lib/i18n/index.ts';

export function systemText(system: NonNullable<Message['system']>, authorName: string): string {
  switch (system.type) {
    case 'pinned':
      return t.features.systemPinned(authorName, system.excerpt);
    case 'unpinned':
      return t.features.systemUnpinned(authorName, system.excerpt);
    case 'poll':
      return t.features.poll;
    case 'members': {
      const names = t.screens.namesJoin(system.names.filter(Boolean).length ? system.names : [t.room.unknownAuthor]);
      if (system.change === 'invited') return t.screens.systemInvited(authorName, names);
      if (system.change === 'removed') return t.screens.systemRemoved(authorName, names);
      return t.screens.systemLeft(names);
    }
  }
}
