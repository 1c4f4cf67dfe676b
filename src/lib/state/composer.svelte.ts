/** What the composer of one room is doing: a new message, a reply, or an edit of an own message. */
import type { TimelineMessage } from '$lib/messages/timeline.ts';

export type ComposerMode = { kind: 'new' } | { kind: 'reply'; target: TimelineMessage } | { kind: 'edit'; target: TimelineMessage };

export class ComposerState {
  text = $state('');
  mode = $state.raw<ComposerMode>({ kind: 'new' });
  /** Bumped to ask the textarea to take focus. */
  focusRequest = $state(0);

  reply(target: TimelineMessage): void {
    if (this.mode.kind === 'edit') this.text = '';
    this.mode = { kind: 'reply', target };
    this.focusRequest++;
  }

  edit(target: TimelineMessage): void {
    this.mode = { kind: 'edit', target };
    this.text = target.text;
    this.focusRequest++;
  }

  cancel(): void {
    if (this.mode.kind === 'edit') this.text = '';
    this.mode = { kind: 'new' };
  }

  /** After a successful send or save. */
  reset(): void {
    this.text = '';
    this.mode = { kind: 'new' };
  }
}
