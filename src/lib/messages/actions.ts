/**
 * What a user may do with a message, in the order the "more" menu and the action sheet list it.
 * The same list feeds both, so desktop and phone never disagree about what is allowed.
 */
import type { IconName } from '$lib/components/TimelineIcon.svelte';

export interface MessageAction {
  id: 'reply' | 'copy' | 'edit' | 'pin' | 'delete';
  label: string;
  icon: IconName;
  danger?: boolean;
  run: () => void;
}

export interface ActionRules {
  own: boolean;
  pending: boolean;
  deleted: boolean;
  hasText: boolean;
  canDelete: boolean;
}

export interface ActionHandlers {
  reply: () => void;
  copy: () => void;
  edit: () => void;
  pin: () => void;
  delete: () => void;
}

export interface ActionLabels {
  reply: string;
  copy: string;
  edit: string;
  pin: string;
  delete: string;
}

/** Reply, copy, edit (own), pin (acknowledged only), delete (own or admin); nothing on a tombstone. */
export function messageActions(rules: ActionRules, on: ActionHandlers, labels: ActionLabels, withReply: boolean): MessageAction[] {
  if (rules.deleted) return [];
  const out: MessageAction[] = [];
  if (withReply) out.push({ id: 'reply', label: labels.reply, icon: 'reply', run: on.reply });
  if (rules.hasText) out.push({ id: 'copy', label: labels.copy, icon: 'copy', run: on.copy });
  if (rules.own) out.push({ id: 'edit', label: labels.edit, icon: 'edit', run: on.edit });
  if (!rules.pending) out.push({ id: 'pin', label: labels.pin, icon: 'pin', run: on.pin });
  if (rules.canDelete) out.push({ id: 'delete', label: labels.delete, icon: 'trash', danger: true, run: on.delete });
  return out;
}
