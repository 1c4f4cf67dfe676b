/** Profile and room-settings actions (online, through the API; documents follow by themselves). */
import { featuresApi } from '$lib/api/features.ts';
import type { User } from '$lib/api/types.ts';
import { handleError } from '$lib/errors/handle-error.ts';

export async function saveProfile(input: { displayName: string; statusMessage: string }): Promise<User | null> {
  try {
    return (await featuresApi.updateProfile({ displayName: input.displayName.trim(), statusMessage: input.statusMessage.trim() })).user;
  } catch (e) {
    handleError(e);
    return null;
  }
}

export async function updateRoom(roomId: string, input: { name?: string; visibility?: 'joined' | 'shared' }): Promise<boolean> {
  try {
    await featuresApi.updateRoom(roomId, input);
    return true;
  } catch (e) {
    handleError(e);
    return false;
  }
}

export async function setAdmin(roomId: string, userId: string, admin: boolean): Promise<void> {
  try {
    await featuresApi.setAdmin(roomId, userId, admin);
  } catch (e) {
    handleError(e);
  }
}

export async function kickMember(roomId: string, userId: string): Promise<void> {
  try {
    await featuresApi.kick(roomId, userId);
  } catch (e) {
    handleError(e);
  }
}
