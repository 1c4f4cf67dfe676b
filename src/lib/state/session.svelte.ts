/**
 * Who is signed in, the server's public config, and what lives only while signed in: the room
 * list and the tab's collaboration socket. `begin` and `end` are the only ways in and out.
 */
import { api, ApiError } from '$lib/api/client.ts';
import type { PublicConfig, User } from '$lib/api/types.ts';
import { CollabClient } from '$lib/collab/collab-client.svelte.ts';
import { handleError, onSessionEnded, RefusalError } from '$lib/errors/handle-error.ts';
import { RoomList } from './room-list.svelte.ts';

export class Session {
  status = $state<'loading' | 'anonymous' | 'active'>('loading');
  user = $state.raw<User | null>(null);
  config = $state.raw<PublicConfig | null>(null);
  collab = $state.raw<CollabClient | null>(null);
  readonly rooms = new RoomList();
  /** The longest message the server accepts; null until the config is known (sending waits). */
  maxChars = $derived(this.config?.messages.maxChars ?? null);

  constructor() {
    onSessionEnded(() => this.end());
  }

  async load(): Promise<void> {
    void this.loadConfig();
    try {
      const { user } = await api.me();
      this.begin(user);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) handleError(e);
      this.status = 'anonymous';
    }
  }

  private async loadConfig(): Promise<void> {
    try {
      this.config = await api.config();
    } catch (e) {
      handleError(e);
    }
  }

  begin(user: User): void {
    this.collab?.destroy();
    this.user = user;
    this.collab = new CollabClient(CollabClient.urlFor(location), (code) => handleError(new RefusalError(code)));
    this.status = 'active';
    if (!this.config) void this.loadConfig();
    void this.rooms.refresh();
  }

  /** Local teardown: closes every document and the socket. The server side is the caller's business. */
  end(): void {
    this.collab?.destroy();
    this.collab = null;
    this.user = null;
    this.rooms.clear();
    this.status = 'anonymous';
  }
}
