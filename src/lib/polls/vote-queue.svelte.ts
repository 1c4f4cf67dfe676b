/**
 * Poll votes made offline, kept per user in localStorage (`msgr:<userId>:votes`, removed at
 * logout with the user's other keys) and sent through `POST /api/polls/:id/vote` when the network
 * returns. A vote the server refuses (poll-closed, invalid-option…) leaves the queue and its code
 * stays visible on the poll card until the user votes again.
 */
import { ApiError } from '$lib/api/client.ts';
import { featuresApi } from '$lib/api/features.ts';
import { userPrefix } from '$lib/local/keys.ts';
import { readJson, writeJson } from '$lib/local/storage.ts';

export interface QueuedVote {
  pollId: string;
  optionIds: string[];
  at: number;
}

const votesKey = (userId: string) => `${userPrefix(userId)}votes`;

export class VoteQueue {
  queued = $state.raw<QueuedVote[]>([]);
  /** pollId → refusal code of the last vote sent. */
  refused = $state.raw<Record<string, string>>({});

  private userId: string | null = null;
  private flushing = false;

  use(userId: string | null): void {
    this.userId = userId;
    this.refused = {};
    this.queued = userId ? (readJson<QueuedVote[]>(votesKey(userId)) ?? []) : [];
  }

  pending(pollId: string): QueuedVote | undefined {
    return this.queued.find((v) => v.pollId === pollId);
  }

  /** Sends now; offline (network error) the vote waits in the queue. True when counted. */
  async cast(pollId: string, optionIds: string[]): Promise<boolean> {
    this.setRefused(pollId, null);
    try {
      await featuresApi.vote(pollId, optionIds);
      this.save(this.queued.filter((v) => v.pollId !== pollId));
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.code === 'network-error') {
        this.save([...this.queued.filter((v) => v.pollId !== pollId), { pollId, optionIds, at: Date.now() }]);
        return false;
      }
      this.save(this.queued.filter((v) => v.pollId !== pollId));
      if (e instanceof ApiError) this.setRefused(pollId, e.code);
      throw e;
    }
  }

  /** Back online: each queued vote is counted or refused with its code. */
  async flush(): Promise<void> {
    if (this.flushing || !this.queued.length) return;
    this.flushing = true;
    try {
      for (const v of [...this.queued]) {
        try {
          await featuresApi.vote(v.pollId, v.optionIds);
          this.save(this.queued.filter((q) => q !== v));
        } catch (e) {
          if (e instanceof ApiError && e.code === 'network-error') break;
          this.save(this.queued.filter((q) => q !== v));
          this.setRefused(v.pollId, e instanceof ApiError ? e.code : 'internal-error');
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private setRefused(pollId: string, code: string | null): void {
    const next = { ...this.refused };
    if (code) next[pollId] = code;
    else delete next[pollId];
    this.refused = next;
  }

  private save(next: QueuedVote[]): void {
    this.queued = next;
    if (this.userId) writeJson(votesKey(this.userId), next);
  }
}
