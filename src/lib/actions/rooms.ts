/**
 * Room actions: start a 1:1 chat, create a group, invite, leave (online: they go through the API).
 * The room list follows by itself: the server pushes the change into the user document.
 */
import { goto } from '$app/navigation';
import { api } from '$lib/api/client.ts';
import { handleError } from '$lib/errors/handle-error.ts';
import type { RoomList } from '$lib/state/room-list.svelte.ts';

export const roomPath = (id: string) => `/rooms/${encodeURIComponent(id)}`;

/** One other member and no name: the server reuses the pair's 1:1 room. */
export async function startDirect(_rooms: RoomList, userId: string): Promise<void> {
  try {
    const { room } = await api.createRoom({ memberIds: [userId] });
    await goto(roomPath(room.id));
  } catch (e) {
    handleError(e);
  }
}

export async function createGroup(_rooms: RoomList, name: string, memberIds: string[]): Promise<void> {
  try {
    const { room } = await api.createRoom({ name: name.trim(), memberIds });
    await goto(roomPath(room.id));
  } catch (e) {
    handleError(e);
  }
}

export async function inviteMembers(roomId: string, userIds: string[]): Promise<boolean> {
  try {
    await api.invite(roomId, userIds);
    return true;
  } catch (e) {
    handleError(e);
    return false;
  }
}

export async function leaveRoom(rooms: RoomList, roomId: string): Promise<void> {
  try {
    await api.leave(roomId);
    rooms.remove(roomId);
    await goto('/');
  } catch (e) {
    handleError(e);
  }
}
