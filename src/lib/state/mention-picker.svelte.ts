/**
 * The `@` autocomplete of the composer: follows the text and caret, offers the room's members
 * (and `@all`) whose name starts with what was typed after `@`, and inserts the chosen name.
 */
import { activeMention, mentionCandidates, type MentionCandidate } from '$lib/mentions/mentions.ts';
import type { Member } from '$lib/protocol/schema';

export class MentionPicker {
  candidates = $state.raw<MentionCandidate[]>([]);
  active = $state(0);
  private start = -1;
  private dismissedAt = -1;

  get open(): boolean {
    return this.candidates.length > 0;
  }

  /** After every input or caret move. */
  update(text: string, caret: number, members: Record<string, Member>, meId: string): void {
    const found = activeMention(text, caret);
    if (!found) this.dismissedAt = -1;
    if (!found || found.start === this.dismissedAt) return this.close(false);
    if (found.start !== this.start) this.active = 0;
    this.start = found.start;
    this.candidates = mentionCandidates(members, meId, found.query);
    if (this.active >= this.candidates.length) this.active = 0;
  }

  /** Arrow keys move, Enter or Tab picks, Escape closes. True when the key was used. */
  onKey(e: KeyboardEvent, pick: (c: MentionCandidate) => void): boolean {
    if (!this.open) return false;
    const n = this.candidates.length;
    if (e.key === 'ArrowDown') this.active = (this.active + 1) % n;
    else if (e.key === 'ArrowUp') this.active = (this.active - 1 + n) % n;
    else if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'Tab') pick(this.candidates[this.active]);
    else if (e.key === 'Escape') this.close(true);
    else return false;
    e.preventDefault();
    return true;
  }

  /** The text with `@query` before the caret replaced by `@label `, and the new caret. */
  apply(text: string, caret: number, c: MentionCandidate): { text: string; caret: number } {
    const start = this.start >= 0 ? this.start : caret;
    const insert = `@${c.label} `;
    this.close(false);
    return { text: text.slice(0, start) + insert + text.slice(caret), caret: start + insert.length };
  }

  close(dismiss: boolean): void {
    if (dismiss) this.dismissedAt = this.start;
    this.candidates = [];
    this.start = -1;
    this.active = 0;
  }
}
