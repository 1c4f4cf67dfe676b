/** Poll actions: create, vote (through the API for every poll, queued offline), close. */
import { featuresApi, type NewPoll } from '$lib/api/features.ts';
import { handleError } from '$lib/errors/handle-error.ts';
import type { VoteQueue } from '$lib/polls/vote-queue.svelte.ts';

export async function createPoll(roomId: string, input: NewPoll): Promise<boolean> {
  try {
    await featuresApi.createPoll(roomId, {
      ...input,
      question: input.question.trim(),
      options: input.options.map((o) => o.trim()).filter(Boolean),
    });
    return true;
  } catch (e) {
    handleError(e);
    return false;
  }
}

export async function vote(queue: VoteQueue, pollId: string, optionIds: string[]): Promise<void> {
  try {
    await queue.cast(pollId, optionIds);
  } catch (e) {
    handleError(e);
  }
}

export async function closePoll(pollId: string): Promise<void> {
  try {
    await featuresApi.closePoll(pollId);
  } catch (e) {
    handleError(e);
  }
}
