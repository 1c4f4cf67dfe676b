/**
 * The `/api` calls of the conversation features (SPEC §5a): profile, room settings, pins, polls.
 * Same transport and error shape as `client.ts` (every failure is an `ApiError` with the code).
 */
import { request } from './client.ts';
import type { RoomDetail, User } from './types.ts';
import type { Pin, Poll } from '$lib/protocol/schema';

const room = (id: string) => `/api/rooms/${encodeURIComponent(id)}`;
const poll = (id: string) => `/api/polls/${encodeURIComponent(id)}`;

export interface NewPoll {
  question: string;
  options: string[];
  multiple: boolean;
  anonymous: boolean;
  endsAt: number | null;
}

export const featuresApi = {
  updateProfile: (input: { displayName?: string; statusMessage?: string }) => request<{ user: User }>('PATCH', '/api/me', input),
  updateRoom: (id: string, input: { name?: string; visibility?: 'joined' | 'shared' }) => request<{ room: RoomDetail }>('PATCH', room(id), input),
  setAdmin: (id: string, userId: string, admin: boolean) => request<{ room: RoomDetail }>('PUT', `${room(id)}/admins/${encodeURIComponent(userId)}`, { admin }),
  kick: (id: string, userId: string) => request<void>('DELETE', `${room(id)}/members/${encodeURIComponent(userId)}`),
  pinMessage: (id: string, messageId: string, segment: number) => request<{ pin: Pin }>('POST', `${room(id)}/pins`, { messageId, segment }),
  pinText: (id: string, text: string) => request<{ pin: Pin }>('POST', `${room(id)}/pins`, { text }),
  unpin: (id: string, pinId: string) => request<void>('DELETE', `${room(id)}/pins/${encodeURIComponent(pinId)}`),
  createPoll: (id: string, input: NewPoll) => request<{ poll: Poll }>('POST', `${room(id)}/polls`, input),
  vote: (pollId: string, optionIds: string[]) => request<{ poll: Poll }>('POST', `${poll(pollId)}/vote`, { optionIds }),
  closePoll: (pollId: string) => request<{ poll: Poll }>('POST', `${poll(pollId)}/close`),
};
